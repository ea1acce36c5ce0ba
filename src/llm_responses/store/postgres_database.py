"""PostgreSQL (asyncpg): many API processes and workers on one database, which stays the queue.

What differs from SQLite is how concurrency is made safe, and that lives in the SQL (``sql/postgres.sql``):
claims skip rows other workers have locked, money moves under the account's row lock, set-based batches.
This module is only the driver: pools whose every wait is bounded (a wait past its bound is ``Busy``, not a
crash), heavy reads (the mentions index) on a small pool of their own so they never take the connections
authentication, task endpoints and the worker need, transactions with a durability each,
a retry when PostgreSQL reports a deadlock (every transaction is conditional, so a retry is safe), and
LISTEN/NOTIFY to wake idle workers in other processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import asyncpg

from llm_responses.errors import Busy, QueryTimeout, UniqueViolation
from llm_responses.store.connection import (
    CRASH_SAFE,
    BulkRows,
    Durability,
    Row,
    RowReads,
    Transaction,
    WaitObserver,
    Write,
)
from llm_responses.store.migrate import upgrade
from llm_responses.store.queries import Queries, load

T = TypeVar("T")
DEADLOCK_RETRIES = 3


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://"))


def dsn_of(url: str) -> str:
    """Any accepted spelling → the plain ``postgresql://`` DSN asyncpg takes."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _count(status: str) -> int:
    """asyncpg's command tag (``UPDATE 3``) → 3."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresConnection(RowReads):
    """``store.connection.Connection`` over an asyncpg connection."""

    __slots__ = ("_conn", "_queries")

    def __init__(self, queries: Queries, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._queries = queries

    async def execute(self, name: str, /, *args: Any, **params: Any) -> int:
        query = self._queries[name]
        if query.noop:
            return 0
        try:
            return _count(await self._conn.execute(query.sql, *query.values(args, params)))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def fetch(self, name: str, /, *args: Any, **params: Any) -> list[Row]:
        query = self._queries[name]
        if query.noop:
            return []
        try:
            rows: list[Row] = await self._conn.fetch(
                query.sql, *query.values(args, params)
            )  # asyncpg ships no types
            return rows
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc

    async def fetch_composed(self, sql: str, args: Sequence[Any], seconds: float) -> list[Row]:
        """Planned for its own values every time: after five runs PostgreSQL may keep a generic plan of a
        prepared statement, and for these (a target's selectivity is everything) one took 6 s where the
        custom plan takes 0.3 s (measured on a million answers)."""
        try:
            async with self._conn.transaction():  # a savepoint inside a write
                await self._conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                rows: list[Row] = await self._conn.fetch(sql, *args, timeout=seconds)
                return rows
        except (TimeoutError, asyncpg.QueryCanceledError) as exc:
            raise QueryTimeout(f"stopped after {seconds:g} s") from exc

    async def bulk(self, name: str, rows: BulkRows) -> None:
        """A COPY statement copies the rows; any other is written over unnest() and takes one array per
        column: one statement (one round trip) however many rows."""
        query = self._queries[name]
        if not rows or query.noop:
            return
        records = query.rows(rows)
        if query.copy_into:
            await self._conn.copy_records_to_table(
                query.copy_into, records=records, columns=list(query.params)
            )
        else:
            await self._conn.execute(query.sql, *[list(col) for col in zip(*records, strict=True)])

    async def notify(self, channel: str) -> None:
        await self._conn.execute("SELECT pg_notify($1, '')", channel)  # delivered at commit


class PostgresDatabase:
    dialect: Literal["postgres"] = "postgres"
    cheap_holds = False  # see Store.cheap_holds

    def __init__(
        self,
        database_url: str,
        *,
        pool_size: int = 10,
        command_timeout: float = 30.0,
        heavy_connections: int = 2,
        heavy_wait: float = 10.0,
        waits: WaitObserver | None = None,
    ) -> None:
        self.url = database_url
        self.dsn = dsn_of(database_url)
        self.pool_size = pool_size
        self.heavy_connections = max(1, heavy_connections)
        self.heavy_wait = heavy_wait
        # every wait on the database is bounded: a statement (server- and client-side), a connection from
        # the pool, a new connection; a hung or locked-up database fails a request instead of freezing it
        self.command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._heavy_pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._queries = load("postgres")
        # how long each call waited for a pooled connection (metrics), per pool
        self._waited = (waits("postgres"), waits("postgres_heavy")) if waits else None

    async def open(self) -> None:
        await asyncio.to_thread(upgrade, "postgresql+asyncpg://" + self.dsn[len("postgresql://") :])
        self._pool = await self._create_pool(1, self.pool_size)
        self._heavy_pool = await self._create_pool(0, self.heavy_connections)

    async def _create_pool(self, min_size: int, max_size: int) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.dsn, min_size=min_size, max_size=max_size, reset=_no_session_state,
            command_timeout=self.command_timeout, timeout=min(self.command_timeout, 10.0),
            # jit off: our statements are short; compiling one took 2 s of a 2.2 s mentions query (measured)
            server_settings={"statement_timeout": str(int(self.command_timeout * 1000)), "jit": "off"},
        )  # fmt: skip

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        for pool in (self._pool, self._heavy_pool):
            if pool is not None:
                await pool.close()
        self._pool = self._heavy_pool = None

    async def listen(self, callbacks: dict[str, Callable[[], None]]) -> None:
        """LISTEN on a connection of its own, kept for the life of the process."""
        self._listener = await asyncpg.connect(self.dsn, timeout=min(self.command_timeout, 10.0))
        for channel, callback in callbacks.items():
            await self._listener.add_listener(channel, lambda *_, cb=callback: cb())

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    @asynccontextmanager
    async def _acquire(self, heavy: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, waited for at most the pool's bound: past it ``Busy``, never a crash."""
        pool = self._heavy_pool if heavy else self._pool
        assert pool is not None, "store is not open"
        wait = self.heavy_wait if heavy else self.command_timeout
        started = time.perf_counter()
        try:
            conn = await pool.acquire(timeout=wait)
        except TimeoutError:
            raise Busy(f"no database connection came free within {wait:g} s") from None
        finally:
            if self._waited is not None:
                self._waited[heavy](time.perf_counter() - started)
        try:
            yield conn
        finally:
            await pool.release(conn)

    async def read(self, fn: Transaction[T], *, quick: bool = False, heavy: bool = False) -> T:
        async with self._acquire(heavy) as conn:
            return await fn(PostgresConnection(self._queries, conn))

    async def write(self, fn: Transaction[T], how: Write = CRASH_SAFE) -> T:
        """One transaction (none for ``atomic=False``: a single statement commits by itself). ``LOSSY``
        commits without waiting for the WAL flush: measured, claims waiting on fsync were what held a worker
        at ~400 tasks/s with 1,000 tasks in flight."""
        if not how.atomic:
            return await self.read(fn)
        for attempt in range(DEADLOCK_RETRIES):
            try:
                async with self._acquire() as conn, conn.transaction():
                    if how.durability is Durability.LOSSY:
                        await conn.execute("SET LOCAL synchronous_commit TO OFF")
                    return await fn(PostgresConnection(self._queries, conn))
            except asyncpg.DeadlockDetectedError:
                if attempt == DEADLOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """The pool's reset on release, instead of asyncpg's default reset query (``CLOSE ALL; UNLISTEN *;
    RESET ALL; SELECT pg_advisory_unlock_all()``), a round trip each time a connection goes back to the pool:
    it was almost half of a point read (340-400 µs → 190-215 µs on loopback). Nothing here leaves session
    state on a pooled connection: settings are ``SET LOCAL``, LISTEN has a connection of its own, no cursors or
    advisory locks; asyncpg still rolls back a transaction left open before calling this
    (tests/store/test_postgres_pool.py)."""
