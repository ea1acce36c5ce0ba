"""A read-only MCP endpoint at ``/mcp``: what an agent needs to read an account's stored answers and the
brand metrics over them, with the account's own credentials (Basic or Bearer, as the REST API).

The official ``mcp`` SDK (``MCPServer``), streamable HTTP, stateless, JSON responses. Every tool
authenticates the call's ``Authorization`` header itself; nothing is written. The SDK's DNS-rebinding
check (a Host allowlist, for unauthenticated local servers) is off: no call is answered without credentials,
and a rebinding page cannot send them. Sizes are bounded: pages of at most ``MAX_PAGE`` answers, tags
counted over at most ``MAX_SCAN`` answers; the brand metrics are the mentions index's rollups, summed in the
database with a time limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from llm_responses.analysis.brand_metrics import BrandQuery, BrandScope, check_groups, scope_of
from llm_responses.api.tracking_routes import alert_view, project_view, run_view
from llm_responses.config_tables import BrandConfig
from llm_responses.cross_site import refuse_cross_site
from llm_responses.errors import ApiError, Busy, QueryTimeout
from llm_responses.store.records import (
    Account,
    StoredTask,
    TaskRecord,
    finished_cursor,
    parse_finished_cursor,
)
from llm_responses.wire.envelope import format_datetime

if TYPE_CHECKING:
    from llm_responses.api.routes import ApiContext

MAX_PAGE = 100
MAX_SCAN = 100_000


def build_mcp(get_api: Callable[[], ApiContext], brands: list[BrandConfig]) -> MCPServer:
    server = MCPServer(
        name="llm-responses",
        instructions="Read-only: this account's stored LLM answers (by tag and engine), each answer's text, "
        "citations and fan-out queries, the tracked brands' visibility metrics, and its tracking projects "
        "with their runs and alerts.",
    )

    async def caller(ctx: Context) -> Account:
        """The account of the call's credentials; failures throttled per client address, as the REST
        API's, so one client's wrong tokens lock out only that client."""
        headers = ctx.headers or {}
        client = getattr(ctx.request_context.request, "client", None)
        try:
            refuse_cross_site(headers)
            return await get_api().auth.authenticate(
                headers.get("authorization"), client.host if client else ""
            )
        except ApiError as exc:  # the client is told why, as the REST API would tell it
            raise ToolError(f"{int(exc.status)} {exc.message}") from None

    def scan(account: Account, engine: str | None, tag: str | None, limit: int) -> AsyncIterator[TaskRecord]:
        return get_api().store.each_finished_task(account.id, se=engine, tag=tag, limit=limit)

    @asynccontextmanager
    async def heavy(account: Account) -> AsyncIterator[None]:
        """One of the account's heavy-read slots, shared with the REST API's and the dashboard's."""
        try:
            async with get_api().heavy_reads.slot(account.id):
                yield
        except ApiError as exc:
            raise ToolError(f"{int(exc.status)} {exc.message}") from None

    @server.tool()
    async def list_tags(ctx: Context, engine: str | None = None) -> list[dict[str, Any]]:
        """The tags of this account's answers with how many answers each has (newest 100,000 at most)."""
        account = await caller(ctx)
        async with heavy(account):
            counts = Counter([r.tag or "" async for r in scan(account, engine, None, MAX_SCAN)])
        return [{"tag": tag, "answers": n} for tag, n in counts.most_common()]

    @server.tool()
    async def list_answers(
        ctx: Context, tag: str | None = None, engine: str | None = None, after: str = "", limit: int = 20
    ) -> dict[str, Any]:
        """Finished tasks in the order they finished: id, engine, tag, prompt, status. ``after`` is the
        ``next`` of the previous page."""
        account = await caller(ctx)
        try:
            cursor = parse_finished_cursor(after)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        page = await get_api().store.finished_tasks(
            account.id,
            after=cursor,
            se=engine,
            tag=tag,
            limit=max(1, min(limit, MAX_PAGE)),
        )
        items = [_summary(StoredTask(r)) for r in page]
        nxt = finished_cursor(page[-1]) if page else ""
        return {"items": items, "next": nxt}

    @server.tool()
    async def get_answer(ctx: Context, task_id: str) -> dict[str, Any]:
        """One answer: its text, citations (title, url, cited span), fan-out queries, reasoning, money."""
        account = await caller(ctx)
        record = await get_api().store.get_task(account.id, task_id)
        if record is None:
            raise ToolError(f"40401 Task Not Found: {task_id}")
        return _answer(StoredTask(record))

    @server.tool()
    async def list_projects(ctx: Context) -> list[dict[str, Any]]:
        """This account's tracking projects: name, prompts, engines, brands (the own one marked), schedule,
        paused or not, the next run and the latest runs' status and cost."""
        account = await caller(ctx)
        service = get_api().tracking
        out = []
        for project, spec in await service.projects(account):
            view = project_view(project, spec)
            view["runs"] = [
                run_view(r, project.name) for r in await service.store.tracking.runs(project.id, 5)
            ]
            out.append(view)
        return out

    @server.tool()
    async def list_alerts(ctx: Context, project: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest alerts of this account's tracking projects (or of one), newest first: visibility or
        share-of-voice drops, brands newly (no longer) named for a prompt, a competitor overtaking the own
        brand, newly cited domains, failed or over-budget runs."""
        account = await caller(ctx)
        service = get_api().tracking
        project_id = 0
        if project:
            try:
                found, _ = await service.get(account, project)
            except ApiError as exc:
                raise ToolError(f"{int(exc.status)} {exc.message}") from None
            project_id = found.id
        alerts = await service.store.tracking.alerts(
            account.id, project_id=project_id, limit=max(1, min(limit, MAX_PAGE))
        )
        return [alert_view(a) for a in alerts]

    @server.tool()
    async def mention_metrics(
        ctx: Context,
        by: list[str] | None = None,
        project: str | None = None,
        tag: str | None = None,
        engine: str | None = None,
        model: str | None = None,
        country: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[dict[str, Any]]:
        """Visibility, share of voice, citation share and average position of the tracked brands, grouped by
        any of prompt, tag, engine, model, country (ISO alpha-2), day. ``project``: a tracking project's
        answers and brands (list_projects; its tags are its prompts' tags); without it, the answers read for
        the server's configured brands. Dates are YYYY-MM-DD, inclusive."""
        account = await caller(ctx)
        q = BrandQuery(by=tuple(by or ()), tag=tag, engine=engine, model=model, country=country,
                       date_from=date_from, date_to=date_to)  # fmt: skip
        scope = BrandScope()
        if project:
            try:
                found, spec = await get_api().tracking.get(account, project)
            except ApiError as exc:
                raise ToolError(f"{int(exc.status)} {exc.message}") from None
            q, scope = replace(q, project_id=found.id), scope_of(spec.prompts)
        elif not brands:
            raise ToolError(
                "no brands are configured ([[brands]] in the server's configuration): name a project"
            )
        try:
            check_groups(q.by)
            async with heavy(account):
                return await get_api().mentions.brand_metrics(account.id, q, scope)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        except (QueryTimeout, Busy) as exc:
            raise ToolError(f"the metrics could not be read in time: {exc}") from None

    return server


def _summary(task: StoredTask) -> dict[str, Any]:
    r = task.record
    return {
        "id": r.id, "engine": r.se, "tag": r.tag, "status_code": r.status_code, "user_prompt": task.user_prompt,
        "model_name": task.model_name, "finished_at": format_datetime(r.finished_at) if r.finished_at else None,
    }  # fmt: skip


def _answer(task: StoredTask) -> dict[str, Any]:
    result, reading = task.result or {}, task.reading
    citations = [
        {k: a.get(k) for k in ("title", "url", "start_index", "end_index", "text")}
        for a in reading.annotations
    ]
    return {
        **_summary(task), "status_message": task.record.status_message, "result_model": result.get("model_name"),
        "text": reading.text, "citations": citations, "fan_out_queries": result.get("fan_out_queries") or [],
        "reasoning": list(reading.reasoning), "money_spent": result.get("money_spent"),
    }  # fmt: skip
