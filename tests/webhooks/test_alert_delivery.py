"""Alerts through the webhook queue, on SQLite and PostgreSQL, over real HTTP to a receiver on loopback:
each format signed, retries (500; 429 with Retry-After or Discord's retry_after), the SSRF guard, a deleted
project's delivery dropped, and the daily digest once per project and day however many processes try."""

import asyncio
import json
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.config_views import WebhookConfig
from llm_responses.errors import Refused
from llm_responses.observability.metrics import Metrics
from llm_responses.store.alert_deliveries import (
    MAX_DIGEST_ALERTS,
    DigestTarget,
    alert_outlet,
    ended_day,
)
from llm_responses.store.records import DeliveryStatus
from llm_responses.store.tracking import NewAlert, Project
from llm_responses.tracking.schedule import Schedule
from llm_responses.tracking.spec import Alerts, ProjectSpec, Prompt, Webhook
from llm_responses.webhooks import signing
from llm_responses.webhooks.digests import GRACE_SECONDS, Digests
from llm_responses.webhooks.dispatcher import Dispatcher
from llm_responses.webhooks.guard import AddressGuard
from tests.fakes.webhook_receiver import Answer
from tests.webhooks.test_delivery import documented_receiver

CONFIG = WebhookConfig(
    concurrency=8,
    timeout_seconds=2.0,
    max_attempts=3,
    retry_horizon_seconds=0.3,
    poll_seconds=0.05,
    secret_cache_seconds=0.0,
)
PARIS = "Europe/Paris"


def open_store(database_url):
    return make_store(Settings(database_url=database_url, sqlite_synchronous="NORMAL"))


@pytest_asyncio.fixture
async def store(database_url):
    s = open_store(database_url)
    await s.open()
    yield s
    await s.close()


@asynccontextmanager
async def dispatching(store, allowlist="127.0.0.1/32", metrics=None, **changes):
    """A dispatcher over ``store`` (the worker's, as composition wires it) until the block ends."""

    async def no_task_payloads(account_id, task_id):
        return None

    dispatcher = Dispatcher(
        store=store,
        guard=AddressGuard.from_setting(allowlist),
        render=no_task_payloads,
        owner=f"test-{uuid.uuid4().hex[:6]}",
        config=replace(CONFIG, **changes),
        metrics=metrics,
    )
    stop = asyncio.Event()
    job = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await job


async def new_project(store, account_id, webhooks, *, name="acme", timezone=None) -> Project:
    spec = ProjectSpec(
        name=name,
        prompts=(Prompt(text="best crm for startups"),),
        engines=("chat_gpt",),
        models={"chat_gpt": ("gpt-4.1-mini",)},
        schedule=Schedule(timezone=timezone) if timezone else None,
        alerts=Alerts(webhooks=tuple(Webhook(url=u, format=f, digest=d) for u, f, d in webhooks)),
    )
    saved, _ = await store.tracking.save_project(account_id, name, spec.to_json(), None, time.time())
    return saved


def hooks(project: Project):
    """The project's webhooks as the tracker hands them over: (url, format, digest)."""
    return tuple(
        (w.url, w.format, w.digest) for w in ProjectSpec.from_json(project.spec_json).alerts.webhooks
    )


def finding(n: int = 1, **changes) -> NewAlert:
    values = dict(
        kind="new_mention", message=f"Acme is named in answer {n}", dedupe=f"new_mention:{n}", brand="Acme",
        subject="best crm for startups", detail={"position": 2},
    )  # fmt: skip
    return NewAlert(**{**values, **changes})


async def record(store, account_id, project, found, at=None):
    return await store.tracking.record_alerts(
        account_id,
        project.id,
        None,
        found,
        time.time() if at is None else at,
        outlet=alert_outlet(hooks(project)),
    )


async def settled(store, account_id, alert_id, within=10.0):
    """The alert's deliveries once none is pending."""
    deadline = time.monotonic() + within
    while True:
        views = await store.alert_deliveries(account_id, alert_id)
        if views and all(v.status is not DeliveryStatus.PENDING for v in views):
            return views
        assert time.monotonic() < deadline, views
        await asyncio.sleep(0.05)


async def test_an_alert_reaches_each_receiver_in_its_format_signed(store, receiver):
    acc = await store.create_account("a", "h", "t", 10**9)
    formats = [("/json", "json"), ("/slack", "slack"), ("/discord", "discord")]
    webhooks = [(receiver.url(path), fmt, False) for path, fmt in formats]
    project = await new_project(store, acc.id, [*webhooks, (receiver.url("/digest"), "json", True)])
    async with dispatching(store):
        [alert] = await record(store, acc.id, project, [finding()])
        got = await receiver.wait_for(3)
        views = await settled(store, acc.id, alert.id)
    secret = (await store.webhook_secrets(acc.id, signing.new_secret())).current
    by_path = {r.path: r for r in got}
    assert sorted(by_path) == ["/discord", "/json", "/slack"]  # the digest's webhook waits for the day's end
    for r in got:
        assert r.method == "POST" and r.headers["content-type"] == "application/json"
        assert "content-encoding" not in r.headers and "x-llmr-task-id" not in r.headers
        assert r.headers["x-llmr-alert-id"] == str(alert.id)
        header = r.headers[signing.HEADER.lower()]
        assert signing.verify(header, secret, f"alert:{alert.id}", r.body)
        assert not signing.verify(header, secret, str(alert.id), r.body)  # bound to the alert, not a bare id
        assert documented_receiver()(r.headers, r.body, secret) == json.loads(r.body)
    assert json.loads(by_path["/json"].body) == {
        "id": alert.id, "kind": "new_mention", "project": "acme", "project_id": project.id, "run_id": None,
        "brand": "Acme", "subject": "best crm for startups", "message": "Acme is named in answer 1",
        "detail": {"position": 2}, "created_at": datetime.fromtimestamp(alert.created_at, ZoneInfo("UTC")).isoformat(timespec="seconds"),
        "link": f"/dashboard/alerts?project=acme#alert-{alert.id}",
    }  # fmt: skip
    slack = json.loads(by_path["/slack"].body)
    assert slack["text"] == "New mention · acme: Acme is named in answer 1" and slack["blocks"]
    discord = json.loads(by_path["/discord"].body)
    assert (
        discord["allowed_mentions"] == {"parse": []} and discord["embeds"][0]["title"] == "New mention · acme"
    )
    assert sorted((v.url.rsplit("/", 1)[1], v.format, v.status, v.attempts) for v in views) == [
        ("discord", "discord", "delivered", 1), ("json", "json", "delivered", 1), ("slack", "slack", "delivered", 1),
    ]  # fmt: skip
    assert all(v.kind == "alert" and v.task_id is None and v.alert_id == alert.id for v in views)
    assert [a.http_status for v in views for a in v.history] == [200, 200, 200]
    other = await store.create_account("b", "h2", "t2", 10**9)
    assert await store.alert_deliveries(other.id, alert.id) is None  # not the other account's


async def test_500_and_429_are_retried_no_sooner_than_the_receiver_asks(store, receiver):
    rate_limited = b'{"message": "You are being rate limited.", "retry_after": 1.2, "global": false}'
    receiver.script.extend(
        [
            Answer(500),
            Answer(429, headers={"Retry-After": "1"}),  # Slack's way: the header
            Answer(429, headers={"Content-Type": "application/json"}, body=rate_limited),  # Discord's body
            Answer(204),  # Discord's answer to a message posted
        ]
    )
    acc = await store.create_account("a", "h", "t", 10**9)
    project = await new_project(store, acc.id, [(receiver.url(), "discord", False)])
    async with dispatching(store, max_attempts=5, retry_horizon_seconds=3.0):  # backoff 0.2, 0.4, 0.8 s
        [alert] = await record(store, acc.id, project, [finding()])
        [view] = await settled(store, acc.id, alert.id)
    assert view.status == "delivered" and [a.http_status for a in view.history] == [500, 429, 429, 204]
    at = [a.at for a in view.history]
    assert at[1] - at[0] < 0.9  # the backoff alone: nothing asked
    assert at[2] - at[1] >= 1.0 and at[3] - at[2] >= 1.2
    assert len({r.headers["x-llmr-delivery-id"] for r in receiver.received}) == 1  # one delivery, four tries


async def test_a_private_address_is_refused_unless_allowlisted(store, receiver):
    with pytest.raises(Refused, match="10.0.0.7 is a private address"):  # what saving a project checks
        AddressGuard().check_without_dns("http://10.0.0.7/hook")
    acc = await store.create_account("a", "h", "t", 10**9)
    project = await new_project(store, acc.id, [(receiver.url(), "json", False)])
    async with dispatching(store, allowlist=""):
        [refused] = await record(store, acc.id, project, [finding(1)])
        [view] = await settled(store, acc.id, refused.id)
    assert view.status == "failed" and view.attempts == 1  # final: not retried
    assert view.history[0].error == "refused: 127.0.0.1 is a loopback address" and receiver.received == []
    async with dispatching(store, allowlist="127.0.0.1/32"):
        [allowed] = await record(store, acc.id, project, [finding(2)])
        [view] = await settled(store, acc.id, allowed.id)
    assert view.status == "delivered" and len(receiver.received) == 1


async def test_a_deleted_projects_pending_alert_is_dropped_not_retried(store, receiver):
    acc = await store.create_account("a", "h", "t", 10**9)
    project = await new_project(store, acc.id, [(receiver.url(), "slack", False)])
    [alert] = await record(store, acc.id, project, [finding()])
    assert await store.tracking.delete_project(acc.id, "acme")
    metrics = Metrics()
    async with dispatching(store, metrics=metrics):
        deadline = time.monotonic() + 10
        while await store.count_deliveries(DeliveryStatus.PENDING):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert await store.count_deliveries(DeliveryStatus.FAILED) == 1 and receiver.received == []
    dropped = {"kind": "alert", "outcome": "dropped"}
    assert (
        metrics.registry.get_sample_value("llm_responses_webhook_delivery_duration_seconds_count", dropped)
        == 1
    )
    assert await store.alert_deliveries(acc.id, alert.id) is None  # gone with its project


def paris_day(year, month, day) -> float:
    return datetime(year, month, day, tzinfo=ZoneInfo(PARIS)).timestamp()


def days_ago(n: int) -> tuple[float, str]:
    """The start of the Paris day ``n`` days before today, and its date (in the past: deliveries are due)."""
    day = datetime.now(ZoneInfo(PARIS)).date() - timedelta(days=n)
    return paris_day(day.year, day.month, day.day), day.isoformat()


async def test_a_digest_goes_once_per_project_day_however_many_processes_send_it(database_url, receiver):
    stores = [open_store(database_url) for _ in range(2)]  # two processes' stores on one database
    for s in stores:
        await s.open()
    try:
        store = stores[0]
        acc = await store.create_account("a", "h", "t", 10**9)
        webhooks = [(receiver.url("/now"), "slack", False), (receiver.url("/digest"), "json", True)]
        project = await new_project(store, acc.id, webhooks, timezone=PARIS)
        quiet = await new_project(
            store, acc.id, [(receiver.url("/quiet"), "json", True)], name="quiet", timezone=PARIS
        )
        start, name = days_ago(3)
        day_alerts = []
        for n, at in enumerate([start + 3600, start + 7200, start + 86399]):  # the last one at 23:59:59
            day_alerts += await record(store, acc.id, project, [finding(n)], at=at)
        [next_day] = await record(store, acc.id, project, [finding(9)], at=start + 86400 + 60)
        targets = [DigestTarget(acc.id, p.id, PARIS, hooks(p)) for p in (project, quiet)]

        early = start + 86400 + GRACE_SECONDS - 30  # midnight has passed, the grace has not
        assert await Digests(store).send_due(targets, early) == []
        due = start + 86400 + GRACE_SECONDS + 30
        calls = [Digests(s).send_due(targets, due) for s in stores for _ in range(2)]
        sent = [d for result in await asyncio.gather(*calls) for d in result]
        assert len(sent) == 1, sent
        [digest] = sent
        assert (digest.kind, digest.project_id, digest.message) == (
            "digest",
            project.id,
            f"3 alerts on {name}",
        )
        assert [a["id"] for a in digest.detail["alerts"]] == [a.id for a in day_alerts]
        assert (digest.detail["day"], digest.detail["total"], digest.detail["more"]) == (name, 3, 0)

        async with dispatching(store):
            await receiver.wait_for(5)  # the four alerts as they came, and the digest
            await settled(store, acc.id, digest.id)
            await asyncio.sleep(0.3)
        paths = sorted(r.path for r in receiver.received)
        assert paths == ["/digest", "/now", "/now", "/now", "/now"]  # nothing for the day without alerts
        posted = json.loads(next(r.body for r in receiver.received if r.path == "/digest"))
        assert posted["kind"] == "digest" and posted["id"] == digest.id
        assert [a["message"] for a in posted["detail"]["alerts"]] == [
            f"Acme is named in answer {n}" for n in range(3)
        ]

        assert await Digests(stores[1]).send_due(targets, due + 3600) == []  # recorded: not again
        [following] = await Digests(store).send_due(targets, due + 86400)
        assert [a["id"] for a in following.detail["alerts"]] == [next_day.id]
        assert await Digests(store).send_due(targets, due + 2 * 86400) == []  # a day without alerts
        assert await store.tracking.alerts(acc.id) == [next_day, *reversed(day_alerts)]  # digests not listed
    finally:
        for s in stores:
            await s.close()


async def test_a_digest_lists_a_bounded_number_and_counts_the_rest(store):
    acc = await store.create_account("a", "h", "t", 10**9)
    project = await new_project(
        store, acc.id, [("https://hooks.example.com/d", "discord", True)], timezone=PARIS
    )
    start = paris_day(2026, 12, 7)
    await record(
        store,
        acc.id,
        project,
        [finding(n, message="x" * 5000) for n in range(MAX_DIGEST_ALERTS + 5)],
        at=start + 60,
    )
    target = DigestTarget(acc.id, project.id, PARIS, hooks(project))
    day = ended_day(start + 86400 + GRACE_SECONDS, PARIS, GRACE_SECONDS)
    assert await store.digest_state(target, day) == (False, MAX_DIGEST_ALERTS + 5)
    digest = await store.record_digest(target, day, start + 86400 + GRACE_SECONDS)
    assert len(digest.detail["alerts"]) == MAX_DIGEST_ALERTS and digest.detail["more"] == 5
    assert all(len(a["message"]) <= 500 for a in digest.detail["alerts"])
    assert await store.digest_state(target, day) == (True, MAX_DIGEST_ALERTS + 5)
    assert await store.record_digest(target, day, start + 86400 + GRACE_SECONDS) is None
    assert await store.count_deliveries(DeliveryStatus.PENDING) == 1  # the digest's one, not the 55 alerts'


def test_a_local_day_ends_at_local_midnight_after_the_grace():
    spring = paris_day(2026, 3, 30)  # 2026-03-29 had 23 hours in Paris
    assert ended_day(spring + 120, PARIS, 300).name == "2026-03-28"  # 00:02: the grace is not over
    day = ended_day(spring + 360, PARIS, 300)
    assert (day.name, day.end - day.start, day.end) == ("2026-03-29", 23 * 3600, spring)
    assert ended_day(1796601600 + 301, "UTC", 300).name == "2026-12-06"
