"""``llm-responses run PROMPTS``: a prompt set against a server (this one or any DataForSEO-compatible).

Exit codes: 0 every task answered; 1 declined at the cost confirmation; 2 a usage or prompt-file error, or
a model name the server does not list; 3 done, some tasks failed; 4 not everything finished within
``--wait``, interrupted or the server unreachable (``--resume`` later); 5 the server refused the run
(credentials, an unknown path). ``spent`` is what the run moved out of the balance (``batch.spend``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llm_responses.batch.client import Progress as RunProgress
from llm_responses.batch.client import Refused, Runner, preflight
from llm_responses.batch.estimate import estimate
from llm_responses.batch.models import unknown_models
from llm_responses.batch.output import OutputDir
from llm_responses.batch.plan import Job, PlanError, expand, read_prompts
from llm_responses.billing.money import to_decimal, to_usd
from llm_responses.cli.group import main
from llm_responses.wire.engines import ENGINES

OK, DECLINED, USAGE, PARTIAL, UNFINISHED, REFUSED = 0, 1, 2, 3, 4, 5


def _models(values: tuple[str, ...], engines: list[str]) -> dict[str, list[str]]:
    """``--models gpt-4.1-mini,claude=claude-haiku-4-5``: ``engine=model`` for one engine, a bare name for all."""
    out: dict[str, list[str]] = {e: [] for e in engines}
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            engine, _, model = item.rpartition("=")
            for target in [engine] if engine else engines:
                if target not in out:
                    raise click.BadParameter(f"{target} is not among --engines", param_hint="--models")
                out[target].append(model)
    return out


@main.command()
@click.argument("prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", envvar="LLM_RESPONSES_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--login", envvar="LLM_RESPONSES_LOGIN", required=True, help="or LLM_RESPONSES_LOGIN")
@click.option("--password", envvar="LLM_RESPONSES_PASSWORD", required=True, help="or LLM_RESPONSES_PASSWORD")
@click.option(
    "--engines",
    default="chat_gpt",
    show_default=True,
    help=f"comma-separated: {','.join(ENGINES)}",
)
@click.option(
    "--models", "models", multiple=True, required=True, help="model names; engine=model for one engine"
)
@click.option("--countries", default="", help="comma-separated ISO codes (turns web search on)")
@click.option("--repeat", default=1, show_default=True, type=int, help="runs of every prompt")
@click.option("--tag", default=None, help="the tasks' tag (a prompt's own tag wins)")
@click.option("--web-search", is_flag=True, help="ask every task for web search")
@click.option("--dry-run", is_flag=True, help="print the plan and the cost estimate; post nothing")
@click.option(
    "--resume", is_flag=True, help="continue the run in --out: collect what was posted, run the rest"
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="default ./runs/<time>",
)
@click.option("--yes", is_flag=True, help="do not ask before spending more than --confirm-over")
@click.option(
    "--confirm-over", default="1.00", show_default=True, help="USD: ask before a run estimated above this"
)
@click.option("--wait", default=3600.0, show_default=True, help="seconds to wait for queued tasks")
@click.option("--live-concurrency", default=4, show_default=True, help="live calls at once")
@click.option("--json", "as_json", is_flag=True, help="one JSON summary on stdout, no progress bar")
def run(
    prompts: Path, url: str, login: str, password: str, engines: str, models: tuple[str, ...], countries: str,
    repeat: int, tag: str | None, web_search: bool, dry_run: bool, resume: bool, out_dir: Path | None, yes: bool,
    confirm_over: str, wait: float, live_concurrency: int, as_json: bool,
) -> None:  # fmt: skip
    """Run a prompt set (.csv with a user_prompt column, or .jsonl of tasks) on engines × models ×
    countries, through task_post where the engine has it and live where it does not."""
    engine_list = [e.strip() for e in engines.split(",") if e.strip()]
    try:
        found, skipped = read_prompts(prompts)
        jobs = expand(
            found, engines=engine_list, models=_models(models, engine_list),
            countries=[c.strip().upper() for c in countries.split(",") if c.strip()] or [None],
            repeat=repeat, tag=tag, web_search=web_search,
        )  # fmt: skip
    except (PlanError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE)
    cost = estimate(jobs)
    err = Console(stderr=True)
    for reason in skipped:
        err.print(f"skipped {reason}")
    summary = {
        "tasks": cost.tasks,
        "task_post": cost.queued,
        "live": cost.live,
        "estimated_usd": float(cost.usd),
    }
    out = OutputDir(out_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    resuming = resume and out.exists()
    if not dry_run:
        _check_out(out, jobs, resume)
    # a resumed run posts only what it has not posted: a model gone since does not stop the collecting
    started = out.results().keys() | out.posted().keys() if resuming and not dry_run else set()
    code = asyncio.run(_check_models(url, login, password, [j for j in jobs if j.key not in started]))
    if code != OK:
        sys.exit(code)
    if dry_run:
        click.echo(
            json.dumps(summary)
            if as_json
            else f"{cost.tasks} tasks ({cost.queued} task_post, {cost.live} live), at most ~${cost.usd:.4f}"
        )
        return
    if not resuming:
        _confirm(cost.tasks, cost.usd, confirm_over, yes=yes, interactive=not as_json)
        out.write_plan(jobs)
    code, progress = asyncio.run(_execute(url, login, password, out, jobs, wait, live_concurrency, as_json))
    csv_path = out.write_csv(jobs)
    result = {**summary, "out": str(out.path), "csv": str(csv_path), "done": progress.done,
              "failed": progress.failed, "spent": to_usd(progress.spent), "held": to_usd(progress.held),
              "exit_code": code}  # fmt: skip
    if as_json:
        click.echo(json.dumps(result))
    else:
        held = f" (${to_decimal(progress.held):f} of it held by unfinished tasks)" if progress.held else ""
        err.print(
            f"{progress.done}/{progress.total} done, {progress.failed} failed, "
            f"spent ${to_decimal(progress.spent):f}{held}; {csv_path}"
        )
    sys.exit(code)


def _check_out(out: OutputDir, jobs: list[Job], resume: bool) -> None:
    """A new run needs a new directory; a resumed one the same plan."""
    if out.exists() and not resume:
        click.echo(f"error: {out.path} already holds a run: --resume it, or choose another --out", err=True)
        sys.exit(USAGE)
    if resume and out.exists() and [j.key for j in out.read_plan()] != [j.key for j in jobs]:
        click.echo(f"error: the prompts or options differ from the run in {out.path}", err=True)
        sys.exit(USAGE)


def _confirm(tasks: int, usd: Decimal, confirm_over: str, *, yes: bool, interactive: bool) -> None:
    """Above ``--confirm-over``: ``--yes``, or the user's yes on a terminal; else exit 1."""
    if yes or usd <= Decimal(confirm_over):
        return
    if (
        not interactive
        or not sys.stdin.isatty()
        or not click.confirm(f"{tasks} tasks may cost ~${usd:.2f}. Go on?")
    ):
        click.echo(
            f"declined: estimated ${usd:.2f} is over --confirm-over {confirm_over} (--yes to go on)", err=True
        )
        sys.exit(DECLINED)


def _client(url: str, login: str, password: str, live_concurrency: int = 4) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=live_concurrency + 4)
    return httpx.AsyncClient(base_url=url, auth=(login, password), timeout=150, limits=limits)


async def _check_models(url: str, login: str, password: str, jobs: list[Job]) -> int:
    """Every model name of the plan against the engines' ``models`` listings, before anything is posted."""
    async with _client(url, login, password) as client:
        try:
            await preflight(client)
            problems = await unknown_models(client, jobs)
        except Refused as exc:
            click.echo(f"refused: {exc}", err=True)
            return REFUSED
        except (httpx.HTTPError, OSError) as exc:
            click.echo(f"the server could not be reached: {exc}; nothing was posted", err=True)
            return UNFINISHED
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    return USAGE if problems else OK


async def _execute(
    url: str,
    login: str,
    password: str,
    out: OutputDir,
    jobs: list[Job],
    wait: float,
    live_concurrency: int,
    quiet: bool,
) -> tuple[int, RunProgress]:
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), disable=quiet)  # fmt: skip
    with bar:
        handle = bar.add_task("tasks", total=len(jobs))

        def show(p: RunProgress) -> None:
            spent = f"${to_decimal(p.spent):.4f}"
            bar.update(handle, completed=p.done, description=f"tasks ({spent} spent, {p.failed} failed)")

        async with _client(url, login, password, live_concurrency) as client:
            runner = Runner(client, out, live_concurrency=live_concurrency, on_progress=show)
            try:
                progress = await runner.run(jobs, wait_seconds=wait)
            except Refused as exc:
                Console(stderr=True).print(f"refused: {exc}")
                return REFUSED, runner.progress
            except (httpx.HTTPError, OSError) as exc:
                Console(stderr=True).print(f"the server could not be reached: {exc}; --resume when it can")
                return UNFINISHED, runner.progress
    if progress.done < progress.total:
        return UNFINISHED, progress
    return (PARTIAL if progress.failed else OK), progress
