"""The store on each database (``database_url``: SQLite and PostgreSQL), opened for a test and closed after."""

from __future__ import annotations

import pytest_asyncio

from llm_responses.composition import make_store
from llm_responses.config import Settings


@pytest_asyncio.fixture
async def store(database_url):
    s = make_store(Settings(database_url=database_url, sqlite_synchronous="NORMAL"))
    await s.open()
    yield s
    await s.close()
