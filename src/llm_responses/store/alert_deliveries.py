"""Alerts leave through the webhook queue, in transactions of their own kind.

A project's new alerts get one pending delivery per (alert, webhook) in the transaction that records them
(``TrackingStore.record_alerts`` calls the outlet ``alert_outlet`` makes), so an alert is never recorded
without its deliveries, nor queued twice. A day's digest is an alert row too (kind ``digest``, dedupe
``digest:<day>``): the unique (project, dedupe) constraint makes it one row, and one set of deliveries, per
project and day however many processes record it at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from llm_responses.store.connection import Connection
from llm_responses.store.deliveries import DELIVERIES_CHANNEL, delivery_views
from llm_responses.store.records import AlertFormat, DeliveryKind, DeliveryStatus, DeliveryView
from llm_responses.store.tracking import Alert, AlertOutlet, alert_of

# (url, format, digest) as a project's spec lists its webhooks (tracking/spec.py::Webhook)
Webhook = tuple[str, str, bool]

DIGEST = "digest"
MAX_DIGEST_ALERTS = 50  # a digest lists this many of the day's alerts and counts the rest
DIGEST_TEXT_CHARS = 500  # of each listed alert's message and subject


def alert_outlet(webhooks: Sequence[Webhook]) -> AlertOutlet:
    """What ``record_alerts`` calls with the alerts it recorded: a delivery to each webhook that is not a
    digest's (``format``: json, slack or discord)."""
    targets = _targets(webhooks, digest=False)

    async def outlet(c: Connection, account_id: int, alerts: list[Alert], now: float) -> None:
        await enqueue(c, account_id, [a.id for a in alerts if a.kind != DIGEST], targets, now)

    return outlet


def _targets(webhooks: Sequence[Webhook], *, digest: bool) -> list[tuple[str, AlertFormat]]:
    return [(url, AlertFormat(fmt)) for url, fmt, is_digest in webhooks if is_digest is digest]


async def enqueue(
    c: Connection, account_id: int, alert_ids: list[int], targets: list[tuple[str, AlertFormat]], now: float
) -> None:
    rows = [
        (account_id, DeliveryKind.ALERT.value, url, DeliveryStatus.PENDING.value, now, alert_id, fmt.value)
        for alert_id in alert_ids
        for url, fmt in targets
    ]
    if rows:
        await c.bulk("insert_alert_deliveries_bulk", rows)
        await c.notify(DELIVERIES_CHANNEL)


async def history(c: Connection, account_id: int, alert_id: int) -> list[DeliveryView] | None:
    """The alert's deliveries with their attempts; None: not the account's alert (or deleted with its project)."""
    return delivery_views(await c.fetch("alert_deliveries", alert_id, account_id))


@dataclass(frozen=True, slots=True)
class DigestTarget:
    """A project whose digest may be due: its webhooks as in ``alert_outlet`` (only ``digest`` ones get it)."""

    account_id: int
    project_id: int
    timezone: str  # the project's schedule's (UTC without a schedule): when its days begin and end
    webhooks: tuple[Webhook, ...]

    @property
    def wants_digest(self) -> bool:
        return any(digest for _, _, digest in self.webhooks)


@dataclass(frozen=True, slots=True)
class Day:
    name: str  # YYYY-MM-DD, the project's local date
    start: float  # its local midnight, Unix seconds
    end: float  # the next local midnight (23 or 25 hours later across a DST change)

    @property
    def dedupe(self) -> str:
        return f"{DIGEST}:{self.name}"


def ended_day(now: float, timezone: str, grace: float) -> Day:
    """The local day that ended at least ``grace`` seconds before ``now`` (yesterday, once the grace is over):
    the grace lets an alert recorded in the day's last moments commit before its digest is read."""
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(now - grace, zone).date()
    day = today - timedelta(days=1)
    start = datetime.combine(day, time(), zone).timestamp()
    end = datetime.combine(today, time(), zone).timestamp()
    return Day(day.isoformat(), start, end)


async def digest_state(c: Connection, target: DigestTarget, day: Day) -> tuple[bool, int]:
    """(the day's digest is recorded already, how many alerts the day had): one read, two index lookups."""
    row = await c.fetchrow(
        "digest_state", target.account_id, target.project_id, day.dedupe, day.start, day.end
    )
    assert row is not None, "two counts are one row"
    return bool(row[0]), int(row[1])


async def record_digest(c: Connection, target: DigestTarget, day: Day, now: float) -> Alert | None:
    """The day's digest, recorded with its deliveries to the digest webhooks; None when the day had no
    alerts or another process recorded it first."""
    recorded, total = await digest_state(c, target, day)
    if recorded or not total:
        return None
    rows = await c.fetch(
        "day_alerts", target.account_id, target.project_id, day.start, day.end, MAX_DIGEST_ALERTS
    )
    listed = [
        {
            "id": r[0], "kind": r[1], "brand": r[2], "subject": _clip(r[3]), "message": _clip(r[4]),
            "created_at": datetime.fromtimestamp(r[5], UTC).isoformat(timespec="seconds"),
        }
        for r in rows
    ]  # fmt: skip
    detail = {
        "day": day.name, "timezone": target.timezone, "total": total, "more": max(0, total - len(listed)),
        "alerts": listed,
    }  # fmt: skip
    message = f"{total} alert{'' if total == 1 else 's'} on {day.name}"
    alert_id = await c.fetchval(
        "insert_digest", target.account_id, target.project_id, message,
        json.dumps(detail, ensure_ascii=False), day.dedupe, now,
    )  # fmt: skip
    if alert_id is None:
        return None
    row = await c.fetchrow("alert_by_id", alert_id)
    assert row is not None, "written in this transaction"
    await enqueue(c, target.account_id, [alert_id], _targets(target.webhooks, digest=True), now)
    return alert_of(row)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= DIGEST_TEXT_CHARS:
        return text
    return text[: DIGEST_TEXT_CHARS - 1] + "…"
