"""``llm-responses export LOGIN``: an account's finished tasks from the database, as JSONL or CSV (its cells
neutralised against spreadsheet formulas: ``wire.spreadsheet``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from llm_responses.batch.output import RESULT_COLUMNS, flatten_result
from llm_responses.billing.money import to_usd
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.store import Store
from llm_responses.store.records import StoredTask, TaskRecord
from llm_responses.wire.engines import ENGINES
from llm_responses.wire.envelope import format_datetime
from llm_responses.wire.spreadsheet import dict_writer

CSV_COLUMNS = (
    "id", "se", "endpoint", "status_code", "status_message", "tag", "cost", "created_at", "finished_at",
    "user_prompt", "requested_model", *RESULT_COLUMNS,
)  # fmt: skip


def task_json(t: TaskRecord) -> dict[str, Any]:
    """A stored task as one JSON object: what was posted (``data``) and the result, as task_get shows them."""
    stored = StoredTask(t)
    return {
        "id": t.id, "se": t.se, "endpoint": t.endpoint, "status": t.status.value, "status_code": t.status_code,
        "status_message": t.status_message, "tag": t.tag, "cost": to_usd(t.cost),
        "created_at": format_datetime(t.created_at),
        "finished_at": format_datetime(t.finished_at) if t.finished_at is not None else None,
        "data": stored.data,
        "result": stored.result,
    }  # fmt: skip


def csv_row(task: dict[str, Any]) -> dict[str, Any]:
    data = task["data"] or {}
    flat = {k: task[k] for k in CSV_COLUMNS if k in task}
    return {**flat, "user_prompt": data.get("user_prompt", ""), "requested_model": data.get("model_name", ""),
            **flatten_result(task["result"])}  # fmt: skip


@main.command("export")
@click.argument("login")
@click.option("--engine", type=click.Choice(list(ENGINES)), default=None, help="only this engine's tasks")
@click.option("--tag", default=None, help="only tasks with this tag")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: standard output"
)
@database_option
def export(
    login: str, engine: str | None, tag: str | None, fmt: str, out: Path | None, database_url: str | None
) -> None:
    """Every finished task of an account, oldest first: JSONL (the posted task and the result as task_get
    shows them) or CSV (the answer flattened: text, cited URLs, fan-out queries, money)."""

    async def go(store: Store) -> int:
        account = await store.account_by_login(login)
        if account is None:
            click.echo(f"error: no account {login!r}", err=True)
            sys.exit(1)
        target: IO[str] = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
        writer = dict_writer(target, CSV_COLUMNS) if fmt == "csv" else None
        if writer:
            writer.writeheader()
        count = 0
        try:
            async for record in store.each_finished_task(account.id, se=engine, tag=tag):
                task = task_json(record)
                if writer:
                    writer.writerow(csv_row(task))
                else:
                    target.write(json.dumps(task, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if out:
                target.close()
        return count

    count = with_store(settings_from(database_url), go)
    click.echo(f"{count} tasks exported", err=True)
