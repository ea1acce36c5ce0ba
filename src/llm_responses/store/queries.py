"""The store's SQL, by name (``connection.execute("claim_fair", ...)``): every ``sql/*.sql`` file (one per
subject: ``common.sql``, ``tracking.sql`` ...) plus a dialect's overrides (``postgres.sql`` and any
``<subject>.postgres.sql``).

As in procrastinate's ``queries.sql``: each statement is written once under ``-- name: <name>``; a dialect
file may only override names the common files have, so every difference between SQLite and PostgreSQL is a
visible, named override rather than a second copy of the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

Dialect = Literal["sqlite", "postgres"]

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)
_PLACEHOLDER = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    sql: str  # empty: a no-op in this dialect
    reads_json: bool = False  # SQLite: a list argument arrives as a JSON array read with json_each()

    @property
    def noop(self) -> bool:
        return not self.sql


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


def sqlite_placeholders(sql: str) -> str:
    """PostgreSQL's ``$1`` placeholders as SQLite's ``?1``: every statement is written the PostgreSQL way."""
    return _PLACEHOLDER.sub(r"?\1", sql)


@cache
def load(dialect: Dialect) -> Queries:
    statements = _merged(override=False)
    if dialect == "postgres":
        overrides = _merged(override=True)
        unknown = set(overrides) - set(statements)
        if unknown:
            raise ValueError(f"the PostgreSQL files override queries no common file has: {sorted(unknown)}")
        statements |= overrides
    else:
        statements = {name: sqlite_placeholders(sql) for name, sql in statements.items()}
    return Queries({name: Query(name, sql, "json_each(" in sql) for name, sql in statements.items()})
