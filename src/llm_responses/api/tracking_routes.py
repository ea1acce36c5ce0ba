"""Tracking projects over REST, our extension under ``/v3/tracking`` (docs/tracking.md), in DataForSEO's
envelope and status codes: a project saved (created or replaced) per posted task, its runs started,
listed and resumed, its alerts listed. Reads and writes are the account's own, as every endpoint's.

GET and POST only, as DataForSEO's API: deleting, pausing and running are POSTs to the project's path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.api import render
from llm_responses.api.routes import Routes, caller, context, json_array
from llm_responses.billing.money import to_usd
from llm_responses.errors import ApiError, StatusCode
from llm_responses.store.records import Account
from llm_responses.store.tracking import Alert, Project, Run
from llm_responses.tracking.service import TrackingService, not_found
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.wire import envelope

routes = Routes()
TRACKING = "/v3/tracking"
PROJECT = TRACKING + "/projects/{name}"
MAX_PROJECTS_PER_POST = 10
MAX_ALERTS = 500


def _service(request: Request) -> TrackingService:
    return context(request).tracking


def _task(
    function: str,
    request: Request,
    started: float,
    result: list[Any] | None,
    *,
    status: StatusCode = StatusCode.OK,
    error: ApiError | None = None,
    **data: Any,
) -> dict[str, Any]:
    return envelope.task(
        task_id=envelope.new_task_id(),
        status=status,
        error=error,
        started=started,
        path=envelope.path_of(request.url.path),
        data={"api": "tracking", "function": function, **data},
        result=result,
    )


def _when(epoch: float | None) -> str | None:
    return envelope.format_datetime(epoch) if epoch is not None else None


def project_view(p: Project, spec: ProjectSpec) -> dict[str, Any]:
    return {
        "name": p.name, "description": spec.description, "paused": p.paused, "next_run_at": _when(p.next_run_at),
        "version": p.version, "tasks_per_run": spec.tasks_per_run, "own_brand": spec.own_brand.name if spec.own_brand else None,
        "created_at": _when(p.created_at), "updated_at": _when(p.updated_at), "spec": spec.model_dump(mode="json"),
    }  # fmt: skip


def run_view(r: Run, project: str, progress: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id, "project": project, "period": r.period, "trigger": r.trigger, "status": r.status,
        "scheduled_for": _when(r.scheduled_for), "started_at": _when(r.started_at), "finished_at": _when(r.finished_at),
        "tasks": r.tasks, "estimate": to_usd(r.estimate), "cost": None if r.cost is None else to_usd(r.cost),
        "error": r.error,
    }  # fmt: skip
    if progress is not None:
        out["progress"] = {status: n for status, (n, _) in sorted(progress.items())}
    return out


def alert_view(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id, "project": a.project, "run_id": a.run_id, "kind": a.kind, "brand": a.brand, "subject": a.subject,
        "message": a.message, "detail": a.detail, "datetime": _when(a.created_at),
    }  # fmt: skip


Handler = Callable[[Request, Account], Awaitable[list[Any] | None]]
# refusals about the request's subject (a project, a run, a field) are the task's, in a 200 envelope, as
# task_get's 40401 is; the request's own problems (credentials, body, rate) stay at the top
TASK_LEVEL = (StatusCode.NOT_FOUND, StatusCode.INVALID_FIELD, StatusCode.TOO_MANY_SIMULTANEOUS)


def endpoint(
    path: str, method: str, function: str, status: StatusCode = StatusCode.OK
) -> Callable[[Handler], Handler]:
    """A tracking endpoint: the caller authenticated, the handler's result in one task of the envelope."""

    def register(handler: Handler) -> Handler:
        async def route(request: Request) -> Response:
            started = time.perf_counter()
            account = await caller(request)
            name = request.path_params.get("name")
            data = {"name": name} if name is not None else {}
            try:
                result = await handler(request, account)
            except ApiError as exc:
                if exc.status not in TASK_LEVEL:
                    raise
                return render.ok([_task(function, request, started, None, error=exc, **data)], started)
            return render.ok([_task(function, request, started, result, status=status, **data)], started)

        route.__name__ = route.__qualname__ = handler.__name__
        route.__doc__ = handler.__doc__
        routes.add(path, method)(route)
        return handler

    return register


@endpoint(TRACKING + "/projects", "GET", "projects")
async def list_projects(request: Request, account: Account) -> list[Any]:
    """The account's projects, by name."""
    return [project_view(p, spec) for p, spec in await _service(request).projects(account)]


@routes.add(TRACKING + "/projects", "POST")
async def save_projects(request: Request) -> Response:
    """Create each posted project, or replace the spec of the account's project of that name
    (20100 created, 20000 replaced; 40501 naming the field a project cannot have)."""
    started = time.perf_counter()
    account = await caller(request)
    body = await json_array(request, MAX_PROJECTS_PER_POST)
    service = _service(request)
    tasks = []
    for raw in body:
        name = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else None
        try:
            saved = await service.save(account, raw)
        except ApiError as exc:
            tasks.append(_task("projects", request, started, None, error=exc, name=name))
            continue
        status = StatusCode.TASK_CREATED if saved.created else StatusCode.OK
        result = [project_view(saved.project, saved.spec)]
        tasks.append(_task("projects", request, started, result, status=status, name=saved.project.name))
    return render.ok(tasks, started)


@endpoint(PROJECT, "GET", "project")
async def get_project(request: Request, account: Account) -> list[Any]:
    """One project, with its latest runs."""
    service = _service(request)
    project, spec = await service.get(account, request.path_params["name"])
    view = project_view(project, spec)
    view["runs"] = [run_view(r, project.name) for r in await service.store.tracking.runs(project.id, 10)]
    return [view]


@endpoint(PROJECT + "/delete", "POST", "delete")
async def delete_project(request: Request, account: Account) -> None:
    """The project, its runs and alerts; its answers stay the account's (task ids, LLM Mentions)."""
    await _service(request).delete(account, request.path_params["name"])


@endpoint(PROJECT + "/pause", "POST", "pause")
async def pause_project(request: Request, account: Account) -> list[Any]:
    """No scheduled runs until unpaused (a run started by hand still runs)."""
    project = await _service(request).pause(account, request.path_params["name"], True)
    return [project_view(project, ProjectSpec.from_json(project.spec_json))]


@endpoint(PROJECT + "/unpause", "POST", "unpause")
async def unpause_project(request: Request, account: Account) -> list[Any]:
    """The schedule again, from its next period."""
    project = await _service(request).pause(account, request.path_params["name"], False)
    return [project_view(project, ProjectSpec.from_json(project.spec_json))]


@endpoint(PROJECT + "/run", "POST", "run", StatusCode.TASK_CREATED)
async def run_project(request: Request, account: Account) -> list[Any]:
    """A run now, outside the schedule: estimated, checked against the monthly budget, posted."""
    start = await _service(request).run_now(account, request.path_params["name"])
    if any(start.accepted):
        context(request).service.on_tasks_created()
    return [run_view(start.run, request.path_params["name"])]


@endpoint(PROJECT + "/runs", "GET", "runs")
async def list_runs(request: Request, account: Account) -> list[Any]:
    """The project's runs, newest first (``?limit=``, at most 500)."""
    service = _service(request)
    project, _ = await service.get(account, request.path_params["name"])
    limit = _limit(request, 50, 500)
    return [run_view(r, project.name) for r in await service.store.tracking.runs(project.id, limit)]


async def _run(request: Request, account: Account) -> tuple[TrackingService, Project, Run]:
    service = _service(request)
    project, _ = await service.get(account, request.path_params["name"])
    raw = request.path_params["run_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise not_found("no such run")
    return service, project, await service.run_of(project, int(raw))


@endpoint(PROJECT + "/runs/{run_id}", "GET", "run")
async def get_run(request: Request, account: Account) -> list[Any]:
    """One run with its tasks counted by status."""
    service, project, run = await _run(request, account)
    return [run_view(run, project.name, await service.store.tracking.run_progress(run.id))]


@endpoint(PROJECT + "/runs/{run_id}/resume", "POST", "resume", StatusCode.TASK_CREATED)
async def resume_run(request: Request, account: Account) -> list[Any]:
    """Post again the run's cells without an answer (failed, or refused for the balance)."""
    service, project, run = await _run(request, account)
    start = await service.resume(account, project.name, run.id)
    if any(start.accepted):
        context(request).service.on_tasks_created()
    return [run_view(start.run, project.name) | {"posted": sum(start.accepted)}]


@endpoint(TRACKING + "/alerts", "GET", "alerts")
async def list_alerts(request: Request, account: Account) -> list[Any]:
    """The account's alerts, newest first: ``?project=`` one project's, ``?limit=`` (at most 500)."""
    service = _service(request)
    project_id = 0
    if name := request.query_params.get("project"):
        project, _ = await service.get(account, name)
        project_id = project.id
    limit = _limit(request, 100, MAX_ALERTS)
    return [
        alert_view(a)
        for a in await service.store.tracking.alerts(account.id, project_id=project_id, limit=limit)
    ]


def _limit(request: Request, default: int, highest: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= highest:
        raise ApiError.invalid_field("limit")
    return int(raw)
