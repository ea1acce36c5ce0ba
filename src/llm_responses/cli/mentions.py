"""``llm-responses mentions LOGIN``: how an account's answers talk about the tracked brands.

The metrics come from the mentions index's rollups (``analysis/brand_metrics.py``; ``analysis/metrics.py`` has
the formulas), over the brands each answer was indexed with: the server's ``[[brands]]`` for answers outside
tracking projects, a project's own brands for its answers (``--project``). Without ``--project`` the
server's brands are read, unless the account has no such answers but has projects: then its first project
(by name), said on stderr. CSV or JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import click

from llm_responses.analysis.brand_metrics import GROUPS, BrandQuery, brand_metrics, scope_of
from llm_responses.analysis.mentions import entities_of
from llm_responses.analysis.metrics import COLUMNS
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.composition import process_owner, project_entities
from llm_responses.store import Store
from llm_responses.tasks.indexer import Indexer
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.wire.spreadsheet import dict_writer


@main.command("mentions")
@click.argument("login")
@click.option(
    "--project", default=None, help="a tracking project's answers (default: the server's [[brands]]'s)"
)
@click.option("--by", default="", help=f"comma-separated groups: {', '.join(GROUPS)}")
@click.option("--engine", default=None, help="only this engine's answers")
@click.option("--model", default=None, help="only this model's answers")
@click.option("--country", default=None, help="only answers for this country (ISO alpha-2)")
@click.option("--tag", default=None, help="only answers with this tag (a project's: its prompts' tags)")
@click.option("--from", "date_from", default=None, help="first day, YYYY-MM-DD")
@click.option("--to", "date_to", default=None, help="last day, YYYY-MM-DD")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@database_option
def mentions(
    login: str,
    project: str | None,
    by: str,
    engine: str | None,
    model: str | None,
    country: str | None,
    tag: str | None,
    date_from: str | None,
    date_to: str | None,
    fmt: str,
    database_url: str | None,
) -> None:
    """Visibility, share of voice, citation share and average position of each tracked brand."""
    settings = settings_from(database_url)
    groups = tuple(g.strip() for g in by.split(",") if g.strip())
    if bad := [g for g in groups if g not in GROUPS]:
        raise click.BadParameter(f"{', '.join(bad)}: use {', '.join(GROUPS)}", param_hint="--by")
    q = BrandQuery(by=groups, engine=engine, model=model, country=country, tag=tag, date_from=date_from,
                   date_to=date_to)  # fmt: skip

    async def read(store: Store) -> list[dict[str, Any]]:
        account = await store.account_by_login(login)
        if account is None:
            click.echo(f"error: no account {login!r}", err=True)
            sys.exit(1)
        if project is not None:
            found = await store.tracking.project(account.id, project)
            if found is None:
                click.echo(f"error: no project {project!r} of {login!r}", err=True)
                sys.exit(1)
            scope = scope_of(ProjectSpec.from_json(found.spec_json).prompts)
            return await brand_metrics(store, account.id, replace(q, project_id=found.id), scope)
        rows = await brand_metrics(store, account.id, q)
        projects = [] if rows else await store.tracking.projects(account.id)
        if projects:  # nothing read for the server's brands: the account's first project
            first = projects[0]
            click.echo(
                f"no answers for the server's [[brands]]: project {first.name!r} (--project)", err=True
            )
            scope = scope_of(ProjectSpec.from_json(first.spec_json).prompts)
            return await brand_metrics(store, account.id, replace(q, project_id=first.id), scope)
        return rows

    try:
        rows = with_store(settings, read)
    except ValueError as exc:  # a country or a day that is none
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    writer = dict_writer(sys.stdout, [*groups, *COLUMNS])
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

    async def backfill(store: Store) -> None:
        accounts = [a for a in await store.list_accounts() if not logins or a.login in logins]
        if missing := set(logins) - {a.login for a in accounts}:
            click.echo(f"error: no account {', '.join(sorted(missing))}", err=True)
            sys.exit(1)
        # read as the worker reads them: through the outbox, each answer with its project's brands
        indexer = Indexer(store, project_entities(store, entities_of(settings.brands)), process_owner())
        for account in accounts:
            queued = await store.enqueue_account(account.id, again=rebuild)
            await indexer.drain()
            total = await store.count_indexed(account.id)
            click.echo(f"{account.login}: {queued} answers indexed now, {total} in the index")

    with_store(settings, backfill)
