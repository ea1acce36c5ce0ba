"""``llm-responses track ...``: tracking projects on a server, over its REST API (``/v3/tracking``), with
the same credentials as ``run`` (``LLM_RESPONSES_LOGIN``/``PASSWORD``, ``--url``).

``track apply project.toml`` saves a project from a file that can live in git (the spec of docs/tracking.md;
``prompts_file`` may name a CSV or JSONL prompt set beside it, read as ``run`` reads one). Exit codes: 0
done; 1 the server refused it (a field, a project or run it does not have: its message is printed); 2 a
usage or file error; 5 the server could not be reached or refused the credentials.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

import click
import httpx

from llm_responses.batch.plan import PlanError, read_prompts
from llm_responses.cli.group import main

OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 5
TRACKING = "/v3/tracking"
FINISHED = ("done", "partial", "failed", "over_budget")


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class Server:
    """The server's tracking endpoints; every answer checked down to its first task's status."""

    def __init__(self, url: str, login: str, password: str) -> None:
        self.client = httpx.Client(base_url=url, auth=(login, password), timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> list[dict[str, Any]]:
        """The tasks of the answer; exits on a request the server refused as a whole."""
        try:
            r = self.client.request(method, TRACKING + path, json=body)
        except httpx.HTTPError as exc:
            _fail(UNREACHABLE, f"{self.client.base_url}: {exc}")
        try:
            answer = r.json()
        except ValueError:
            _fail(UNREACHABLE, f"{self.client.base_url} answered HTTP {r.status_code}, not JSON")
        if answer.get("status_code") != 20000:
            code = UNREACHABLE if answer.get("status_code") in (40100, 40104) else REFUSED
            _fail(code, f"{answer.get('status_code')} {answer.get('status_message')}")
        return list(answer.get("tasks") or [])

    def one(self, method: str, path: str, body: Any = None) -> list[Any]:
        """The result of the answer's one task; exits with its message when it failed."""
        task = self.call(method, path, body)[0]
        if task.get("status_code") not in (20000, 20100):
            _fail(REFUSED, f"{task.get('status_code')} {task.get('status_message')}")
        return list(task.get("result") or [])


def _seg(name: str) -> str:
    """A project name as one path segment, whatever was typed."""
    return quote(name, safe="")


def _server(url: str, login: str, password: str) -> Server:
    return Server(url, login, password)


def server_options(f: Any) -> Any:
    f = click.option(
        "--password", envvar="LLM_RESPONSES_PASSWORD", required=True, help="or LLM_RESPONSES_PASSWORD"
    )(f)
    f = click.option("--login", envvar="LLM_RESPONSES_LOGIN", required=True, help="or LLM_RESPONSES_LOGIN")(f)
    return click.option(
        "--url", envvar="LLM_RESPONSES_URL", default="http://127.0.0.1:8000", show_default=True
    )(f)


@main.group()
def track() -> None:
    """Tracking projects: prompt sets that run themselves on a schedule, with alerts (docs/tracking.md)."""


def read_project(path: Path) -> dict[str, Any]:
    """A project file: TOML (the spec), its ``prompts_file`` read into ``prompts``."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        _fail(USAGE, f"{path}: {exc}")
    except tomllib.TOMLDecodeError as exc:
        _fail(USAGE, f"{path}: not TOML: {exc}")
    prompts_file = raw.pop("prompts_file", None)
    if prompts_file is not None:
        if not isinstance(prompts_file, str):
            _fail(USAGE, f"{path}: prompts_file is a file name")
        try:
            found, skipped = read_prompts(path.parent / prompts_file)
        except PlanError as exc:
            _fail(USAGE, str(exc))
        for reason in skipped:
            click.echo(f"{prompts_file}: skipped {reason}", err=True)
        listed = list(raw.get("prompts") or [])
        raw["prompts"] = listed + [
            {"text": p.user_prompt, **({"tags": [str(p.fields["tag"])]} if p.fields.get("tag") else {})}
            for p in found
        ]
    return raw


@track.command("apply")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@server_options
def apply(files: tuple[Path, ...], url: str, login: str, password: str) -> None:
    """Create or update projects from TOML files (one project each)."""
    server = _server(url, login, password)
    specs = [read_project(f) for f in files]
    tasks = server.call("POST", "/projects", specs)
    failed = False
    for path, task in zip(files, tasks, strict=True):
        if task.get("status_code") not in (20000, 20100):
            failed = True
            click.echo(f"{path}: {task.get('status_code')} {task.get('status_message')}", err=True)
            continue
        p = task["result"][0]
        verb = "created" if task["status_code"] == 20100 else f"updated (version {p['version']})"
        nxt = p["next_run_at"] or "only when run by hand"
        click.echo(f"{p['name']}: {verb}; {p['tasks_per_run']} tasks a run; next run {nxt}")
    sys.exit(REFUSED if failed else OK)


@track.command("list")
@server_options
def list_projects(url: str, login: str, password: str) -> None:
    """The projects: name, schedule state, next run, tasks a run."""
    for p in _server(url, login, password).one("GET", "/projects"):
        state = "paused" if p["paused"] else f"next run {p['next_run_at'] or 'by hand'}"
        click.echo(f"{p['name']}\t{p['tasks_per_run']} tasks a run\t{state}")


@track.command("show")
@click.argument("name")
@server_options
def show(name: str, url: str, login: str, password: str) -> None:
    """One project as JSON: its spec, state and latest runs."""
    click.echo(
        json.dumps(
            _server(url, login, password).one("GET", f"/projects/{_seg(name)}")[0],
            indent=2,
            ensure_ascii=False,
        )
    )


@track.command("run")
@click.argument("name")
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=None,
    help="wait up to this many seconds for the run to finish",
)
@server_options
def run_now(name: str, wait_seconds: float | None, url: str, login: str, password: str) -> None:
    """Start a run now (outside the schedule); with --wait, print it once finished."""
    server = _server(url, login, password)
    run = server.one("POST", f"/projects/{_seg(name)}/run")[0]
    click.echo(
        f"{name}: run {run['id']} {run['status']}, {run['tasks']} tasks posted, estimated ${run['estimate']:.4f}"
    )
    if wait_seconds is None:
        return
    deadline = time.monotonic() + wait_seconds
    while run["status"] not in FINISHED:
        if time.monotonic() > deadline:
            _fail(4, f"run {run['id']} is still {run['status']}: `track runs {name}` later")
        time.sleep(1.0)
        run = server.one("GET", f"/projects/{_seg(name)}/runs/{run['id']}")[0]
    click.echo(
        f"{name}: run {run['id']} {run['status']}, cost ${run['cost'] or 0:.4f}"
        + (f" ({run['error']})" if run["error"] else "")
    )


@track.command("runs")
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@server_options
def runs(name: str, limit: int, url: str, login: str, password: str) -> None:
    """The project's runs, newest first."""
    for r in _server(url, login, password).one("GET", f"/projects/{_seg(name)}/runs?limit={limit}"):
        cost = "" if r["cost"] is None else f"${r['cost']:.4f}"
        click.echo(
            f"{r['id']}\t{r['period']}\t{r['status']}\t{r['tasks']} tasks\t{cost}\t{r['error'] or ''}".rstrip()
        )


@track.command("resume")
@click.argument("name")
@click.argument("run_id", type=int)
@server_options
def resume(name: str, run_id: int, url: str, login: str, password: str) -> None:
    """Post again the cells of a run that have no answer (after a top-up, or failures)."""
    run = _server(url, login, password).one("POST", f"/projects/{_seg(name)}/runs/{run_id}/resume")[0]
    click.echo(f"{name}: run {run['id']} {run['status']}, {run['posted']} tasks posted again")


@track.command("pause")
@click.argument("name")
@server_options
def pause(name: str, url: str, login: str, password: str) -> None:
    """No scheduled runs until unpaused."""
    _server(url, login, password).one("POST", f"/projects/{_seg(name)}/pause")
    click.echo(f"{name}: paused")


@track.command("unpause")
@click.argument("name")
@server_options
def unpause(name: str, url: str, login: str, password: str) -> None:
    """Run on the schedule again, from its next period."""
    p = _server(url, login, password).one("POST", f"/projects/{_seg(name)}/unpause")[0]
    click.echo(f"{name}: next run {p['next_run_at']}")


@track.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="do not ask")
@server_options
def delete(name: str, yes: bool, url: str, login: str, password: str) -> None:
    """Delete the project, its runs and alerts (its answers stay)."""
    if not yes and not click.confirm(f"delete project {name}, its runs and alerts?"):
        sys.exit(REFUSED)
    _server(url, login, password).one("POST", f"/projects/{_seg(name)}/delete")
    click.echo(f"{name}: deleted")


@track.command("alerts")
@click.argument("name", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="the alerts as JSON")
@server_options
def alerts(name: str | None, limit: int, as_json: bool, url: str, login: str, password: str) -> None:
    """The latest alerts (of one project, or every one), newest first."""
    query = "?" + urlencode({"limit": limit, **({"project": name} if name else {})})
    found = _server(url, login, password).one("GET", f"/alerts{query}")
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for a in found:
        click.echo(f"{a['datetime']}\t{a['project']}\t{a['kind']}\t{a['message']}")
