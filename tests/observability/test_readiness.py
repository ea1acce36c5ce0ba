"""/readyz: the database answers, its schema is the code's, and some worker (any process) has a fresh
heartbeat in ``meta``; /healthz only says the process answers."""

from __future__ import annotations

import time

from llm_responses.composition import make_store
from llm_responses.store.migrate import head_revision
from tests.conftest import running


async def test_a_server_with_its_worker_is_ready(harness):
    r = await harness.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "migrations": "current", "workers": 1}
    assert (await harness.client.get("/healthz")).json() == {"status": "ok"}


async def test_an_api_process_with_no_worker_anywhere_says_so(idle_harness):
    r = await idle_harness.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["workers"] == 0 and body["database"] == "ok"
    assert "start `llm-responses worker`" in body["reasons"][0]
    assert (await idle_harness.client.get("/healthz")).status_code == 200  # alive, just not ready


async def test_a_worker_in_another_process_counts_while_its_heartbeat_is_fresh(idle_harness, settings):
    store = idle_harness.store
    await store.worker_heartbeat("elsewhere:1:abc", time.time(), 0)
    r = await idle_harness.client.get("/readyz")
    assert (r.status_code, r.json()["workers"]) == (200, 1)
    stale = time.time() - 3 * settings.worker_heartbeat_seconds - 1
    await store.worker_heartbeat("elsewhere:1:abc", stale, 0)
    assert (await idle_harness.client.get("/readyz")).status_code == 503


async def test_old_heartbeats_of_killed_workers_are_forgotten(idle_harness):
    store = idle_harness.store
    now = time.time()
    await store.worker_heartbeat("killed:1:aaa", now - 7200, 0)
    await store.worker_heartbeat("alive:2:bbb", now, now - 3600)
    assert set(await store.worker_heartbeats()) == {"alive:2:bbb"}


async def test_a_database_not_at_the_code_s_migration_is_not_ready(harness):
    await harness.store.db.write(
        lambda c: c.fetch_composed("UPDATE alembic_version SET version_num = '0003'", [], 5)
    )
    r = await harness.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["migrations"] == f"at 0003, code has {head_revision()}"
    assert "llm-responses migrate" in r.json()["reasons"][0]


async def test_a_worker_that_stops_removes_its_heartbeat(settings):
    async with running(settings) as h:
        assert len(await h.store.worker_heartbeats()) == 1
    store = make_store(settings)
    await store.open()
    try:
        assert await store.worker_heartbeats() == {}
    finally:
        await store.close()
