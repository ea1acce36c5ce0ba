"""SQLite: one writer thread, one reader thread, WAL, and reader threads of their own for heavy reads.

As in datasette, every write runs on a single dedicated thread that owns the write connection, each as
one ``BEGIN IMMEDIATE`` transaction executed in a single hop: a whole task_post is one call into that
thread (``connection.drive`` runs the transaction's coroutine there), not a dozen awaits. Reads use their
own connection, which WAL lets run beside the writer. Heavy reads (the mentions index: seconds, not
microseconds) run on ``heavy_connections`` more reader threads, so a point read (authentication, task_get)
never queues behind one; a heavy read waits at most ``heavy_wait`` seconds for a free one (``Busy``).

Durability is chosen per transaction. ``PROMISED`` commits (accepting tasks, moving money a client was
told about) use ``synchronous=FULL`` (configurable): once task_post answers 20100 the task survives even a
power cut. Everything else commits with ``NORMAL``, which in WAL mode survives any crash of the process but
may lose the newest commits on power loss; every such loss is safe by construction (a lost settlement leaves
the task leased, so it is re-run and settled once; a lost live hold only forgets a charge).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from llm_responses.errors import Busy, QueryTimeout, UniqueViolation
from llm_responses.private_files import create_private
from llm_responses.store.connection import (
    CRASH_SAFE,
    BulkRows,
    Durability,
    Row,
    RowReads,
    Transaction,
    WaitObserver,
    Write,
    drive,
)
from llm_responses.store.migrate import upgrade
from llm_responses.store.queries import Queries, load, sqlite_placeholders
from llm_responses.store.sqlite_lane import BUSY_TIMEOUT_MS, Lane

T = TypeVar("T")
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


def sqlite_path(database_url: str) -> str:
    """``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` → a filesystem path."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"not a SQLite URL: {database_url!r}")
    return database_url[len(prefix) :]


def _arg(value: Any) -> Any:
    """A list argument becomes the JSON array the statement reads with json_each()."""
    return json.dumps(value) if isinstance(value, list | tuple) else value


class SqliteConnection(RowReads):
    """``store.connection.Connection`` over a sqlite3 connection; its methods never suspend."""

    __slots__ = ("_conn", "_queries")

    def __init__(self, queries: Queries, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._queries = queries

    def _run(self, name: str, args: tuple[Any, ...], params: dict[str, Any]) -> list[Row] | int | None:
        """Rows (stepped to the end, so no statement is left half-done at COMMIT), else the rowcount;
        None for a no-op."""
        query = self._queries[name]
        if query.noop:
            return None
        values = query.values(args, params)
        try:
            cursor = self._conn.execute(query.sql, [_arg(a) for a in values] if query.reads_json else values)
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorcode in (
                sqlite3.SQLITE_CONSTRAINT_UNIQUE,
                sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
            ):
                raise UniqueViolation(str(exc)) from exc
            raise
        return cursor.fetchall() if cursor.description else cursor.rowcount

    async def execute(self, name: str, /, *args: Any, **params: Any) -> int:
        out = self._run(name, args, params)
        return out if isinstance(out, int) else len(out or ())

    async def fetch(self, name: str, /, *args: Any, **params: Any) -> list[Row]:
        out = self._run(name, args, params)
        return out if isinstance(out, list) else []

    async def fetch_composed(self, sql: str, args: Sequence[Any], seconds: float) -> list[Row]:
        deadline = time.monotonic() + seconds
        # checked every 10,000 virtual-machine steps: a runaway read is interrupted, not waited for
        self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            return self._conn.execute(sqlite_placeholders(sql), [_arg(a) for a in args]).fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(f"stopped after {seconds:g} s") from exc
            raise
        finally:
            self._conn.set_progress_handler(None, 0)

    async def bulk(self, name: str, rows: BulkRows) -> None:
        query = self._queries[name]
        if rows and not query.noop:
            self._conn.executemany(query.sql, query.rows(rows))

    async def notify(self, channel: str) -> None:
        """One process owns a SQLite file's queue; what it posts wakes its own worker directly."""


class SqliteDatabase:
    CHECKPOINT_EVERY = 500  # commits between WAL checkpoints, which run on the writer's thread

    dialect: Literal["sqlite"] = "sqlite"
    cheap_holds = True  # see Store.cheap_holds

    def __init__(
        self,
        database_url: str,
        *,
        synchronous: Synchronous = "FULL",
        heavy_connections: int = 2,
        heavy_wait: float = 10.0,
        waits: WaitObserver | None = None,
    ) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):  # it goes into a PRAGMA
            raise ValueError(f"sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = sqlite_path(database_url)
        self.url = database_url
        self._synchronous = synchronous
        self._writer = Lane("sqlite-writer", waits("sqlite_writer") if waits else None)
        self._reader = Lane("sqlite-reader", waits("sqlite_reader") if waits else None)
        heavy = waits("sqlite_heavy") if waits else None
        self._heavy = [Lane(f"sqlite-heavy-{i}", heavy) for i in range(max(1, heavy_connections))]
        self._heavy_slots: asyncio.Semaphore | None = None
        self._heavy_wait = heavy_wait
        self._queries = load("sqlite")
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # it holds webhook signing secrets: 0600 (SQLite gives its -wal and -shm files the same mode)
            create_private(Path(self.path))
        await asyncio.to_thread(upgrade, self.url)
        await self._writer.open(lambda: self._connect(writer=True))
        await self._reader.open(self._connect)
        for lane in self._heavy:
            await lane.open(self._connect)
        self._heavy_slots = asyncio.Semaphore(len(self._heavy))

    def _connect(self, *, writer: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row  # rows read by column name, as asyncpg's records are
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # raised per transaction where it matters (write)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        # the mentions index is read by id across large tables: pages from the OS page cache through a
        # mapping (no copy, no read() each), and 32 MB of SQLite's own cache instead of its 2 MB default
        conn.execute("PRAGMA mmap_size=1073741824")
        conn.execute("PRAGMA cache_size=-32768")
        if (
            writer
        ):  # a checkpoint may fsync: it runs on the writer's thread (_count_commit), never on the loop
            conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    async def close(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint
        await self._writer.close()
        await self._reader.close()
        for lane in self._heavy:
            await lane.close()

    async def listen(self, callbacks: dict[str, Callable[[], None]]) -> None:
        """Nothing to listen to: no other process writes this file's queue."""

    async def read(self, fn: Transaction[T], *, quick: bool = False, heavy: bool = False) -> T:
        def run(conn: sqlite3.Connection) -> T:
            return drive(fn(SqliteConnection(self._queries, conn)))

        if heavy:
            return await self._read_heavy(run)
        return await (self._reader.run_quick(run) if quick else self._reader.run(run))

    async def _read_heavy(self, run: Callable[[sqlite3.Connection], T]) -> T:
        assert self._heavy_slots is not None, "store is not open"
        try:
            async with asyncio.timeout(self._heavy_wait):
                await self._heavy_slots.acquire()
        except TimeoutError:
            raise Busy(f"no heavy-read connection came free within {self._heavy_wait:g} s") from None
        try:
            lane = min(self._heavy, key=lambda candidate: candidate.queued)
            return await lane.run(run)
        finally:
            self._heavy_slots.release()

    async def write(self, fn: Transaction[T], how: Write = CRASH_SAFE) -> T:
        """``fn`` in one ``BEGIN IMMEDIATE`` transaction (``atomic`` changes nothing: every write is one).
        ``quick`` runs it on the event loop when the writer is idle (``Lane.run_quick``); a promised
        commit (an fsync) always goes to the thread."""
        durable = how.durability is Durability.PROMISED

        def transaction(conn: sqlite3.Connection) -> T:
            if durable:
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = drive(fn(SqliteConnection(self._queries, conn)))
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return out
            finally:
                if durable:
                    conn.execute("PRAGMA synchronous=NORMAL")

        if how.quick and not durable:
            out = await self._writer.run_quick(transaction)
        else:
            out = await self._writer.run(transaction)
        self._count_commit()
        return out

    def _count_commit(self) -> None:
        self._commits += 1
        if self._commits >= self.CHECKPOINT_EVERY and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.create_task(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        try:
            await self._writer.run(lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        finally:
            self._checkpoint = None
