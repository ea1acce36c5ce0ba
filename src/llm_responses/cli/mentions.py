"""``llm-responses mentions LOGIN``: how an account's stored answers talk about the tracked brands.

Brands come from ``[[brands]]`` in the configuration (or ``--brands FILE``, a TOML file of such tables).
Every finished answer is read (keyset pages), the brands found in it (``analysis.mentions``), and the
metrics computed per group (``analysis.metrics`` has the formulas), as CSV or JSON.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from llm_responses.analysis.answer_index import index_stored
from llm_responses.analysis.metrics import GROUPS, Tally
from llm_responses.analysis.stored import entities_of, stored_answer
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.config_tables import BrandConfig
from llm_responses.store.store import Store
from llm_responses.wire.spreadsheet import dict_writer


@main.command("mentions")
@click.argument("login")
@click.option("--brands", "brands_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="a TOML file of [[brands]] tables (default: the configuration's)")  # fmt: skip
@click.option("--by", default="", help=f"comma-separated groups: {', '.join(GROUPS)}")
@click.option("--engine", "se", default=None, help="only this engine's answers")
@click.option("--tag", default=None, help="only answers with this tag")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@database_option
def mentions(
    login: str,
    brands_file: Path | None,
    by: str,
    se: str | None,
    tag: str | None,
    fmt: str,
    database_url: str | None,
) -> None:
    """Visibility, share of voice, citation share and average position of each tracked brand."""
    settings = settings_from(database_url)
    brands = settings.brands
    if brands_file:
        try:
            raw = tomllib.loads(brands_file.read_text("utf-8"))
            brands = [BrandConfig.model_validate(b) for b in raw.get("brands", [])]
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            click.echo(f"error: {brands_file}: {exc}", err=True)
            sys.exit(2)
    if not brands:
        click.echo("error: no brands to track: [[brands]] in the configuration, or --brands FILE", err=True)
        sys.exit(2)
    groups = tuple(g.strip() for g in by.split(",") if g.strip())
    if bad := [g for g in groups if g not in GROUPS]:
        raise click.BadParameter(f"{', '.join(bad)}: use {', '.join(GROUPS)}", param_hint="--by")
    entities = entities_of(brands)

    tally = Tally(groups)

    async def read(store: Store) -> None:
        account = await store.account_by_login(login)
        if account is None:
            click.echo(f"error: no account {login!r}", err=True)
            sys.exit(1)
        async for record in store.each_finished_task(account.id, se=se, tag=tag):  # a page at a time
            if (a := stored_answer(record, entities)) is not None:
                tally.add(a)

    with_store(settings, read)
    rows: list[dict[str, Any]] = tally.rows()
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    columns = [*groups, "entity", "competitor", "answers", "mentions", "visibility", "share_of_voice", "citations",
               "citation_share", "average_position", "negated"]  # fmt: skip
    writer = dict_writer(sys.stdout, columns)
    writer.writeheader()
    writer.writerows(rows)


@main.command("mentions-index")
@click.argument("logins", nargs=-1)
@click.option("--rebuild", is_flag=True, help="re-index answers already indexed (after changing [[brands]])")
@database_option
def mentions_index(logins: tuple[str, ...], rebuild: bool, database_url: str | None) -> None:
    """Index stored answers for the LLM Mentions endpoints (every account's, or LOGINS'): the backfill for
    answers settled before the index existed, and, with --rebuild, after the tracked brands changed."""
    settings = settings_from(database_url)
    entities = entities_of(settings.brands)

    async def backfill(store: Store) -> None:
        accounts = [a for a in await store.list_accounts() if not logins or a.login in logins]
        if missing := set(logins) - {a.login for a in accounts}:
            click.echo(f"error: no account {', '.join(sorted(missing))}", err=True)
            sys.exit(1)
        for account in accounts:
            indexed = seen = 0
            after = ""
            while page := await store.tasks_to_index(account.id, after):
                after = page[-1][0].id
                seen += len(page)
                todo = [
                    (record.id, index)
                    for record, done in page
                    if (rebuild or not done) and (index := index_stored(record, entities)) is not None
                ]
                if todo:
                    indexed += await store.index_answers(todo, replace=rebuild)
            total = await store.count_indexed(account.id)
            click.echo(
                f"{account.login}: {indexed} answers indexed now, {total} in the index, {seen} answered tasks"
            )

    with_store(settings, backfill)
