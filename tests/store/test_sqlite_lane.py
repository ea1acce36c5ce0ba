"""The SQLite lane's fast path: on the event loop only when that is safe, on its thread otherwise."""

import asyncio
import sqlite3
import threading

import pytest

from llm_responses.store.sqlite_lane import BUSY_TIMEOUT_MS, Lane


@pytest.fixture
async def lane(tmp_path):
    path = tmp_path / "lane.db"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
        return conn

    lane = Lane("test-lane")
    await lane.open(connect)
    lane.path = path
    yield lane
    await lane.close()


def insert(value: int):
    def tx(conn: sqlite3.Connection) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return threading.get_ident()

    return tx


async def test_a_quick_call_runs_on_the_loop_when_the_thread_is_idle(lane):
    assert await lane.run_quick(insert(1)) == threading.get_ident()
    assert await lane.run(insert(2)) != threading.get_ident()


async def test_a_quick_call_queues_behind_work_already_on_the_thread(lane):
    gate, holding = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> int:
        holding.set()
        gate.wait(5)
        return insert(1)(conn)

    first = asyncio.create_task(lane.run(slow))
    assert await asyncio.to_thread(holding.wait, 5)  # the slow call holds the thread
    second = asyncio.create_task(lane.run_quick(insert(2)))
    await asyncio.sleep(0.05)
    assert not second.done()  # not run beside the thread's call on the same connection
    gate.set()
    loop_thread = threading.get_ident()
    assert await first != loop_thread and await second != loop_thread
    rows = await lane.run(lambda c: [v for (v,) in c.execute("SELECT v FROM t ORDER BY rowid")])
    assert rows == [1, 2]  # in the order they were asked for


async def test_a_lock_held_elsewhere_never_blocks_the_loop(lane):
    other = sqlite3.connect(lane.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer, say the accounts CLI
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    call = asyncio.create_task(lane.run_quick(insert(7)))
    await asyncio.sleep(0.3)
    assert not call.done() and ticks >= 10  # waiting on the thread; the loop kept running
    other.execute("COMMIT")
    other.close()
    assert await call != threading.get_ident()
    ticking.cancel()
    busy = await lane.run(lambda c: c.execute("PRAGMA busy_timeout").fetchone()[0])
    assert busy == BUSY_TIMEOUT_MS  # the fast path's zero timeout did not leak
    assert await lane.run_quick(lambda c: c.execute("SELECT v FROM t").fetchall()) == [(7,)]
