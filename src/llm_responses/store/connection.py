"""The small interface every store transaction is written against, once, for both databases.

After pgqueuer's one ``Queries`` class over thin drivers: a transaction is an ``async def`` taking a
``Connection`` and running named queries (``store/queries.py``). On PostgreSQL each statement is awaited on
a pooled asyncpg connection. On SQLite the connection's methods never suspend, so the driver runs the whole
coroutine to completion inside its writer thread (``drive``): still one thread hop per transaction, as if
it had been written as a plain function.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

from llm_responses.store.queries import Dialect

T = TypeVar("T")


class Row(Protocol):
    """A result row, read by column name (``row["account_id"]``, or several at once: ``store.rows``) or by
    position (``row[0]``): asyncpg's ``Record`` and ``sqlite3.Row`` both are one."""

    def __getitem__(self, key: int | str | slice, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Iterable[str]: ...


# a bulk statement's rows: tuples in placeholder order, or (a named statement's) mappings by name
BulkRows = Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]


class Durability(Enum):
    """What a commit must survive; each driver maps it onto its own knobs."""

    PROMISED = "promised"  # a client was told (task accepted, money moved): survives a power cut
    CRASH_SAFE = "crash_safe"  # survives a crash of the process (SQLite synchronous=NORMAL under WAL)
    LOSSY = "lossy"  # losing it in a database crash is safe by construction (a lease, a claim)


@dataclass(frozen=True, slots=True)
class Write:
    """How a write transaction runs. ``quick``: small and bounded, so SQLite may run it on the event loop;
    ``atomic=False``: a single statement, which PostgreSQL may run without BEGIN/COMMIT."""

    durability: Durability = Durability.CRASH_SAFE
    quick: bool = False
    atomic: bool = True


CRASH_SAFE = Write()  # the default
PROMISED = Write(Durability.PROMISED)  # a client is told it happened: survives a power cut
LOSSY = Write(Durability.LOSSY)  # a lease or claim: losing it in a database crash is safe by construction
QUICK = Write(quick=True)  # small and bounded: SQLite may run it on the event loop
QUICK_SINGLE = Write(quick=True, atomic=False)  # one statement, too


class Connection(Protocol):
    """Statements are named (``sql/common.sql``); the connection runs its dialect's text for the name. Its
    values come by position (``$1``: ``args``) or by name (``:account_id``: ``params``), as it says."""

    async def execute(self, query: str, /, *args: Any, **params: Any) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def fetch(self, query: str, /, *args: Any, **params: Any) -> list[Row]: ...
    async def fetchrow(self, query: str, /, *args: Any, **params: Any) -> Row | None: ...
    async def fetchval(self, query: str, /, *args: Any, **params: Any) -> Any: ...
    async def fetch_composed(self, sql: str, args: Sequence[Any], seconds: float) -> list[Row]:
        """A read composed at run time (``store.mention_queries``: a target list becomes SQL), in PostgreSQL's
        ``$n`` placeholders, given up after ``seconds`` (``QueryTimeout``). Its text is only ever
        put together from fixed fragments; every value the caller sent is a parameter."""
        ...

    async def bulk(self, query: str, rows: BulkRows) -> None:
        """A ``_bulk`` statement for many rows: per row on SQLite, one batch on PostgreSQL."""
        ...

    async def notify(self, channel: str) -> None:
        """Wake other processes' listeners at commit (a no-op where one process owns the queue)."""
        ...


Transaction = Callable[[Connection], Coroutine[Any, Any, T]]
# a driver asks it, per pool or lane name, for the function it tells each wait's seconds (metrics)
WaitObserver = Callable[[str], Callable[[float], None]]


class Database(Protocol):
    cheap_holds: bool  # see Store.cheap_holds

    @property
    def dialect(self) -> Dialect:
        """For the statements composed at run time (store/mention_sql.py)."""
        ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def read(self, fn: Transaction[T], *, quick: bool = False, heavy: bool = False) -> T:
        """``fn`` on a read connection. ``quick``: a point read (SQLite may run it on the event loop);
        ``heavy``: seconds of work (the mentions index), on connections of their own, waited for within a
        bound (``errors.Busy`` past it)."""
        ...

    async def write(self, fn: Transaction[T], how: Write = CRASH_SAFE) -> T:
        """``fn`` in one transaction, run and committed as ``how`` says."""
        ...

    async def listen(self, callbacks: dict[str, Callable[[], None]]) -> None:
        """Call ``callbacks[channel]()`` when another process notifies ``channel``."""
        ...


class RowReads:
    """``fetchrow`` and ``fetchval`` for a connection that has ``fetch``."""

    async def fetch(self, query: str, /, *args: Any, **params: Any) -> list[Row]:
        raise NotImplementedError

    async def fetchrow(self, query: str, /, *args: Any, **params: Any) -> Row | None:
        rows = await self.fetch(query, *args, **params)
        return rows[0] if rows else None

    async def fetchval(self, query: str, /, *args: Any, **params: Any) -> Any:
        row = await self.fetchrow(query, *args, **params)
        return None if row is None else row[0]


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a transaction over a SQLite connection) to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)  # the coroutine's own return value, which StopIteration does not type
    coro.close()
    raise RuntimeError("a SQLite transaction awaited something other than its connection")
