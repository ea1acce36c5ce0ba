"""Bringing a database to the newest schema with alembic, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import logging
from functools import cache
from importlib.resources import files

# alembic logs each plugin at INFO as it is imported; only problems are worth a line in the server's log
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402 - after the log level, which its import already uses
from alembic.config import Config  # noqa: E402


def alembic_config(sqlalchemy_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("llm_responses.store").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url)
    return config


def upgrade(sqlalchemy_url: str) -> None:
    command.upgrade(alembic_config(sqlalchemy_url), "head")


@cache
def head_revision() -> str | None:
    """The newest migration this code has (read once: it loads the migration scripts)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
