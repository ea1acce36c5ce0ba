"""Tracking tests: a project spec as a user would write one, and the app on either database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from llm_responses.config import Settings
from tests.conftest import Harness, running

PROMPTS = [
    "Which is better for a family weekend, Disneyland Paris or Parc Astérix?",
    "What are the best amusement parks near Paris?",
    "Is Puy du Fou worth a visit?",
]


def spec(name: str = "parks", **changes: Any) -> dict[str, Any]:
    """A project on chat_gpt (the fake OpenAI of the test settings), three prompts, two brands."""
    out: dict[str, Any] = {
        "name": name,
        "prompts": [{"text": p, "tags": ["comparison"] if i == 0 else []} for i, p in enumerate(PROMPTS)],
        "engines": ["chat_gpt"],
        "models": {"chat_gpt": "gpt-4.1-mini"},
        "brands": [
            {
                "name": "Disneyland Paris",
                "aliases": ["Disneyland"],
                "domains": ["disneylandparis.com"],
                "own": True,
            },
            {"name": "Parc Astérix", "aliases": ["Parc Asterix"]},
        ],
        "schedule": {"every": "day", "at": "09:00", "timezone": "Europe/Paris"},
    }
    out.update(changes)
    return out


@pytest_asyncio.fixture
async def on_both(database_url: str, settings: Settings) -> AsyncIterator[Harness]:
    """The app with its worker on SQLite and on PostgreSQL; the scheduler's loop left to the test
    (``tracking_poll_seconds`` an hour), which drives ``Scheduler.tick`` with the times it wants."""
    async with running(settings.updated({"database_url": database_url, "tracking_poll_seconds": 3600})) as h:
        yield h
