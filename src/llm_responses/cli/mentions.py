"""``llm-responses mentions LOGIN``: how an account's stored answers talk about the tracked brands.

Brands come from ``[[brands]]`` in the configuration (or ``--brands FILE``, a TOML file of such tables).
Every finished answer is read (keyset pages), the brands found in it (``analysis.mentions``), and the
metrics computed per group (``analysis.metrics`` has the formulas), as CSV or JSON.
"""

from __future__ import annotations

import csv
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from llm_responses.analysis.mentions import Entity, find
from llm_responses.analysis.metrics import GROUPS, Answer, Tally
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.config_tables import BrandConfig
from llm_responses.store.records import TaskRecord
from llm_responses.store.store import Store

PAGE = 500


def answer_of(record: TaskRecord, entities: list[Entity]) -> Answer | None:
    """A stored task as an ``Answer`` (None for failed tasks: there is no answer to read)."""
    if not record.result_json:
        return None
    result = json.loads(record.result_json)
    data = json.loads(record.data_json) if record.data_json else {}
    texts, urls = [], []
    for item in result.get("items") or []:
        if item.get("type") == "message":
            for section in item.get("sections") or []:
                texts.append(section.get("text") or "")
                urls += [a["url"] for a in section.get("annotations") or [] if a.get("url")]
    day = datetime.fromtimestamp(record.finished_at or record.created_at, UTC).strftime("%Y-%m-%d")
    return Answer(
        task_id=record.id, tag=record.tag or "", engine=record.se, model=str(data.get("model_name") or ""),
        country=str(data.get("web_search_country_iso_code") or ""), day=day, cited_any=bool(urls),
        hits=tuple(find("\n\n".join(texts), urls, entities)),
    )  # fmt: skip


def _entities(brands: list[BrandConfig]) -> list[Entity]:
    return [Entity(b.name, tuple(b.aliases), tuple(b.domains), b.competitor) for b in brands]


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
    entities = _entities(brands)

    tally = Tally(groups)

    async def read(store: Store) -> None:
        account = await store.account_by_login(login)
        if account is None:
            click.echo(f"error: no account {login!r}", err=True)
            sys.exit(1)
        after = (0.0, "")
        while page := await store.finished_tasks(account.id, after=after, se=se, tag=tag, limit=PAGE):
            for record in page:  # one page in memory at a time, whatever the account holds
                if (a := answer_of(record, entities)) is not None:
                    tally.add(a)
            after = (page[-1].finished_at or 0.0, page[-1].id)

    with_store(settings, read)
    rows: list[dict[str, Any]] = tally.rows()
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    columns = [*groups, "entity", "competitor", "answers", "mentions", "visibility", "share_of_voice", "citations",
               "citation_share", "average_position", "negated"]  # fmt: skip
    writer = csv.DictWriter(sys.stdout, columns)
    writer.writeheader()
    writer.writerows(rows)
