"""The store's SQL, by name (``connection.execute("claim_fair", ...)``): every ``sql/*.sql`` file (one per
subject: ``common.sql``, ``tracking.sql`` ...) plus a dialect's overrides (``postgres.sql`` and any
``<subject>.postgres.sql``).

As in procrastinate's ``queries.sql``: each statement is written once under ``-- name: <name>``; a dialect
file may only override names the common files have, so every difference between SQLite and PostgreSQL is a
visible, named override rather than a second copy of the store.

A statement takes its values by name (``:account_id``, passed as ``execute("get_task", id=..., ...)``) or,
in the older statements, by position (``$1``). Named placeholders are numbered here, in order of first use,
so each driver still runs positional text; an override must name the same values as the statement it
overrides, so a value can never be bound to the wrong placeholder in one dialect only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from operator import itemgetter
from typing import Any, Literal

Dialect = Literal["sqlite", "postgres"]

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)
_PLACEHOLDER = re.compile(r"\$(\d+)")
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")  # :name, never a PostgreSQL ::cast
_COPY = re.compile(r"^COPY (\w+) \(([^)]*)\)\s+FROM STDIN$", re.S)


@dataclass(frozen=True, slots=True)
class Query:
    """One statement in one dialect, and how a call's values are bound to its placeholders."""

    name: str
    sql: str  # empty: a no-op in this dialect
    reads_json: bool = False  # SQLite: a list argument arrives as a JSON array read with json_each()
    # the values a named statement takes, in placeholder order ($1 is params[0]); a COPY's: its columns
    params: tuple[str, ...] = ()
    copy_into: str | None = None  # a COPY statement's table (PostgreSQL): its rows go over COPY
    named: bool = field(default=False, init=False)  # whether it takes its values by name
    _get: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "named", bool(self.params) and self.copy_into is None)
        if self.params:  # one C call per row, however many values (a bulk insert binds thousands)
            get = itemgetter(*self.params)
            object.__setattr__(self, "_get", get if len(self.params) > 1 else lambda m: (get(m),))

    @property
    def noop(self) -> bool:
        return not self.sql

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """Named values in placeholder order; TypeError unless they are exactly the statement's."""
        if len(values) != len(self.params):
            raise TypeError(self._mismatch(values))
        try:
            bound: tuple[Any, ...] = self._get(values)
        except KeyError:
            raise TypeError(self._mismatch(values)) from None
        return bound

    def values(self, args: Sequence[Any], params: Mapping[str, Any]) -> Sequence[Any]:
        """A call's values in placeholder order: ``args`` as given, or ``params`` bound by name."""
        if self.named:
            if args:
                raise TypeError(f"query {self.name!r} takes its values by name: {', '.join(self.params)}")
            return self.bind(params)
        if params:
            raise TypeError(f"query {self.name!r} takes its values by position, not by name")
        return args

    def rows(self, rows: Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]) -> Sequence[Sequence[Any]]:
        """A bulk statement's rows as value tuples: mappings bound by name (a COPY's: by column)."""
        if not rows or not (type(rows[0]) is dict or isinstance(rows[0], Mapping)):  # dict: the quick test
            if self.named:
                raise TypeError(f"query {self.name!r} takes rows of named values: {', '.join(self.params)}")
            return rows  # type: ignore[return-value]  # sequences, as the first one is
        return [self.bind(r) for r in rows]  # type: ignore[arg-type]  # mappings, as the first one is

    def _mismatch(self, values: Mapping[str, Any]) -> str:
        missing, extra = set(self.params) - set(values), set(values) - set(self.params)
        return f"query {self.name!r}: no value for {sorted(missing)}, unknown {sorted(extra)}"


class Queries:
    """One dialect's statements by name: ``queries["claim_fair"]``."""

    def __init__(self, queries: dict[str, Query]) -> None:
        self._queries = queries

    def __getitem__(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise KeyError(f"no query named {name!r} in store/sql/common.sql") from None

    def names(self) -> set[str]:
        return set(self._queries)


def parse(text: str) -> dict[str, str]:
    """``-- name:`` blocks → {name: statement}, comment lines dropped (a block of comments only → "")."""
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in out:
            raise ValueError(f"query {name!r} is defined twice")
        lines = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("--")]
        out[name] = "\n".join(lines)
    return out


def _is_override(name: str) -> bool:
    return name == "postgres.sql" or name.endswith(".postgres.sql")


def _merged(override: bool) -> dict[str, str]:
    """The statements of every common file (or every PostgreSQL override file), each name once."""
    out: dict[str, str] = {}
    sql = files("llm_responses.store").joinpath("sql")
    for f in sorted(sql.iterdir(), key=lambda f: f.name):
        if not f.name.endswith(".sql") or _is_override(f.name) != override:
            continue
        for name, statement in parse(f.read_text(encoding="utf-8")).items():
            if name in out:
                raise ValueError(f"query {name!r} is defined twice (again in {f.name})")
            out[name] = statement
    return out


def statement(name: str, sql: str) -> Query:
    """A statement with its ``:name`` placeholders numbered ``$1, $2 ...`` in order of first use."""
    copy = _COPY.match(sql)
    if copy:
        return Query(name, sql, params=tuple(c.strip() for c in copy.group(2).split(",")), copy_into=copy[1])
    params: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m[1] not in params:
            params.append(m[1])
        return f"${params.index(m[1]) + 1}"

    numbered = _NAMED.sub(number, sql)
    if params and _PLACEHOLDER.search(sql):
        raise ValueError(f"query {name!r} mixes named (:name) and numbered ($1) placeholders")
    return Query(name, numbered, "json_each(" in sql, tuple(params))


def check_override(common: Query, override: Query) -> None:
    """An override names the values its statement does (a no-op names none, so anything may replace it)."""
    if common.noop or override.noop:
        return
    if set(common.params) != set(override.params) and (common.named or override.named):
        raise ValueError(
            f"query {common.name!r}: the PostgreSQL override takes {sorted(override.params)}, "
            f"the common statement {sorted(common.params)}"
        )


def sqlite_placeholders(sql: str) -> str:
    """PostgreSQL's ``$1`` placeholders as SQLite's ``?1``: every statement is written the PostgreSQL way."""
    return _PLACEHOLDER.sub(r"?\1", sql)


@cache
def load(dialect: Dialect) -> Queries:
    statements = {name: statement(name, sql) for name, sql in _merged(override=False).items()}
    if dialect == "postgres":
        overrides = {name: statement(name, sql) for name, sql in _merged(override=True).items()}
        unknown = set(overrides) - set(statements)
        if unknown:
            raise ValueError(f"the PostgreSQL files override queries no common file has: {sorted(unknown)}")
        for name, override in overrides.items():
            check_override(statements[name], override)
        statements |= overrides
    else:
        statements = {n: replace(q, sql=sqlite_placeholders(q.sql)) for n, q in statements.items()}
    return Queries(statements)
