"""One SQLite connection with its own thread, and a fast lane for small statements on the event loop.

Handing a statement to a thread and back costs two thread wake-ups: 120–200 µs on this project's 2-core
VMs, where the statement itself (a point read, a three-row transaction without fsync) takes ~20 µs.
On a live call that hop happened three times (auth, hold, settlement) and was a quarter of the latency
the server adds (docs/benchmarks.md). So a *quick* call runs right on the event loop when the
connection's thread has nothing queued, and goes through the thread otherwise:

- only calls the caller marks quick: bounded work, never an fsync (durable commits and anything that
  may scan many rows keep the thread);
- never waiting on a lock on the loop: the quick path tries once with SQLite's busy timeout at zero and,
  when another connection holds the lock, queues the same call on the thread, which waits as usual;
- never concurrently with the thread: the lane counts what it handed to the thread, and the count drops
  only once the thread is done with the connection (not when an awaiting coroutine is cancelled).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000


class Lane:
    def __init__(self, name: str, on_wait: Callable[[float], None] | None = None) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        # told how long each call waited for the thread (metrics: a lane's queue shows as waits)
        self._on_wait = on_wait
        self._queued = 0  # calls handed to the thread and not finished there; touched on the loop only
        self.conn: sqlite3.Connection | None = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` on the lane's thread."""
        loop = asyncio.get_running_loop()
        conn = self._conn()
        self._queued += 1
        on_wait = self._on_wait
        if on_wait is not None:
            fn = _timed(fn, on_wait, time.perf_counter())
        future = self._executor.submit(fn, conn)
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._done))
        return await asyncio.wrap_future(future)

    async def run_quick(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` on the event loop when the thread is idle and no lock is held elsewhere.

        ``fn`` must be safe to run again after SQLITE_BUSY (a read, or a transaction that rolls back
        when a statement fails): it then runs again on the thread, which waits for the lock.
        """
        if self._queued == 0:
            conn = self._conn()
            conn.execute("PRAGMA busy_timeout=0")
            try:
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
            finally:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return await self.run(fn)

    async def open(self, connect: Callable[[], sqlite3.Connection]) -> None:
        loop = asyncio.get_running_loop()
        self.conn = await loop.run_in_executor(self._executor, connect)

    async def close(self) -> None:
        if self.conn is not None:
            await self.run(lambda c: c.close())
            self.conn = None
        self._executor.shutdown(wait=True)

    @property
    def queued(self) -> int:
        """Calls handed to the thread and not finished there."""
        return self._queued

    def _conn(self) -> sqlite3.Connection:
        assert self.conn is not None, "store is not open"
        return self.conn

    def _done(self) -> None:
        self._queued -= 1


def _timed(
    fn: Callable[[sqlite3.Connection], T], on_wait: Callable[[float], None], queued_at: float
) -> Callable[[sqlite3.Connection], T]:
    def run(conn: sqlite3.Connection) -> T:
        on_wait(time.perf_counter() - queued_at)
        return fn(conn)

    return run
