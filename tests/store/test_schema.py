"""Migrating an empty database gives exactly the declared schema (store/schema.py), on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.store.schema import metadata


def differences(connection) -> list:
    return compare_metadata(MigrationContext.configure(connection), metadata)


async def test_migrations_from_empty_equal_the_declared_schema(database_url):
    store = make_store(Settings(database_url=database_url))
    await store.open()
    await store.close()
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url)
        with engine.connect() as connection:
            diff = differences(connection)
        engine.dispose()
    else:
        engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
        await engine.dispose()
    assert diff == []
