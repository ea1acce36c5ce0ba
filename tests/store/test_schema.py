"""The migrations are the schema: they give SQLite and PostgreSQL the same tables, columns and indexes,
and every named statement in store/sql is accepted by the schema they give, in its own dialect."""

import re
import sqlite3

import asyncpg
import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.store.postgres_database import dsn_of
from llm_responses.store.queries import load, parse
from llm_responses.store.sqlite_database import sqlite_path
from tests import pg

# The full-text indexes of the mentions index are each dialect's own by design (migration 0004): SQLite's
# FTS5 tables (and their shadow tables), PostgreSQL's tsvector column and GIN indexes.
_FULLTEXT_TABLES = re.compile(r"^mention_(words|chars)(_\w+)?$")
_FULLTEXT_COLUMNS = {("mention_texts", "words")}
_FULLTEXT_INDEX = re.compile(r"^mention_texts_(words|\w+_trgm)$")


def _shape(connection) -> dict[str, tuple]:
    found = inspect(connection)
    return {
        table: (
            sorted(
                (c["name"], c["nullable"])
                for c in found.get_columns(table)
                if (table, c["name"]) not in _FULLTEXT_COLUMNS
            ),
            sorted(
                (i["name"], tuple(i["column_names"]))
                for i in found.get_indexes(table)
                if not i.get("duplicates_constraint")  # PostgreSQL lists a UNIQUE's index as well
                and not _FULLTEXT_INDEX.match(i["name"])
            ),
            sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
        )
        for table in found.get_table_names()
        if table != "alembic_version" and not _FULLTEXT_TABLES.match(table)
    }


async def shape(url: str) -> dict[str, tuple]:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.connect() as connection:
            out = _shape(connection)
        engine.dispose()
        return out
    engine = create_async_engine("postgresql+asyncpg://" + dsn_of(url)[len("postgresql://") :])
    async with engine.connect() as connection:
        out = await connection.run_sync(_shape)
    await engine.dispose()
    return out


async def migrated(url: str) -> str:
    store = make_store(Settings(database_url=url))
    await store.open()
    await store.close()
    return url


async def test_both_databases_get_the_same_schema(tmp_path, pg_databases):
    await pg.require()
    sqlite = await shape(await migrated(f"sqlite:///{tmp_path}/s.db"))
    postgres = await shape(await migrated(await pg_databases.new()))
    assert sqlite == postgres
    assert {"accounts", "ledger", "tasks", "deliveries", "delivery_attempts", "meta"} <= set(sqlite)
    assert {"mention_answers", "mention_links", "mention_brands"} <= set(sqlite)


def _arity(sql: str) -> int:
    return max((int(n) for n in re.findall(r"[?$](\d+)", sql)), default=0)


async def test_every_statement_compiles_against_the_migrated_sqlite_schema(tmp_path):
    url = await migrated(f"sqlite:///{tmp_path}/s.db")
    conn = sqlite3.connect(sqlite_path(url))
    queries = load("sqlite")
    try:
        for name in sorted(queries.names()):
            sql = queries[name].sql
            if sql:
                conn.execute(f"EXPLAIN {sql}", [None] * _arity(sql))  # raises on a missing table or column
    finally:
        conn.close()


async def test_every_statement_compiles_against_the_migrated_postgres_schema(pg_databases):
    await pg.require()
    url = await migrated(await pg_databases.new())
    conn = await asyncpg.connect(dsn_of(url))
    queries = load("postgres")
    try:
        for name in sorted(queries.names()):
            sql = queries[name].sql
            copy = re.match(r"COPY (\w+) \(([^)]*)\)", sql)
            if copy:  # COPY cannot be prepared: its table and columns must exist
                await conn.execute(f"SELECT {copy.group(2)} FROM {copy.group(1)} LIMIT 0")
            elif sql:
                await conn.prepare(sql)  # parsed and planned, not run
    finally:
        await conn.close()


def test_overrides_name_only_statements_the_common_file_has():
    with pytest.raises(ValueError, match="defined twice"):
        parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")
    assert parse("-- name: noop\n-- nothing to do here\n") == {"noop": ""}
    assert load("postgres").names() == load("sqlite").names()
