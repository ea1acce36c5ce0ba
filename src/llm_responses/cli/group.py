"""The ``llm-responses`` command group and what every command shares: settings, the database option, a
store opened for one command.

Command and option names are a contract (docs, scripts and tests outside the repo rely on them).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.store import Store

T = TypeVar("T")


@click.group()
@click.version_option(package_name="llm-responses")
def main() -> None:
    """Self-hosted DataForSEO-compatible LLM Responses API."""


database_option = click.option(
    "--database-url",
    envvar="LLM_RESPONSES_DATABASE_URL",
    default=None,
    help="sqlite:///path.db (default: ./llm-responses.db)",
)


def settings_from(database_url: str | None = None, **overrides: Any) -> Settings:
    """The settings (environment, TOML file, these overrides); a setting that fails validation stops the
    command with its name and the reason, not a traceback."""
    if database_url:
        overrides["database_url"] = database_url
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            click.echo(f"error: configuration: {where}: {error['msg']}", err=True)
        sys.exit(2)


def with_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    async def go() -> T:
        store = make_store(settings)
        await store.open()
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())
