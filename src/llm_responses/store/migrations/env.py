"""Alembic environment: run by ``llm_responses.store.migrate`` with the URL set programmatically.

SQLite through the standard library driver; PostgreSQL through asyncpg (the driver the store uses), run to
completion on a loop of its own. On PostgreSQL an advisory lock makes concurrent starts (several API and
worker processes at once) migrate one after the other instead of racing.

There is no declared model to autogenerate from: the migrations are the schema, and
tests/store/test_schema.py checks that they give both databases the same tables and that every statement
in store/sql is accepted by the schema they give.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool, text

config = context.config
connectable = config.attributes.get("connection")
MIGRATION_LOCK = 7262001


def run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=None, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        context.run_migrations()


async def run_async(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


if connectable is not None:
    run(connectable)
elif config.get_main_option("sqlalchemy.url", "").startswith("postgresql+asyncpg"):
    asyncio.run(run_async(config.get_main_option("sqlalchemy.url") or ""))
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        run(connection)
