"""``/dashboard/tasks`` and ``/dashboard/answer/{id}``: the answers, newest first, and one answer read as a
person reads it.

The list has two sources. Without analysis filters it is the account's tasks (failed ones too), paged in
SQL with the status filter applied before the page is cut. With a project, a prompt, a brand, a model, a
country or dates it is the project's answers from the mentions index (``store/answer_reads.py``): what a
matrix cell or a mover links to. Either way a row shows what the answer says: its start, the tracked brands
it names with their positions, how many sources it cites, the country.

One answer: Markdown rendered safely with the tracked brands highlighted and the citations numbered beside
the spans they support (``dashboard/answer_html.py``), fan-out queries, reasoning folded away, a cut answer
marked, and the same prompt's answers on the other engines and in other runs beside it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from llm_responses.analysis.brand_metrics import alpha2
from llm_responses.dashboard.answer_html import BrandMark, render_answer
from llm_responses.dashboard.filters import (
    Tracked,
    TrackedBrand,
    answers_of,
    bar,
    parse_filters,
    tracked,
    tracked_by_id,
)
from llm_responses.dashboard.format import plain
from llm_responses.dashboard.views import task_row
from llm_responses.dashboard.web import BadFilter, Site, api_of, env, error, fmt_of, heavy, out
from llm_responses.store.records import (
    Account,
    StoredTask,
    TaskRecord,
    finished_cursor,
    parse_finished_cursor,
)
from llm_responses.tasks.mentions_service import AnswerFacts, AnswerRow, CountFilter
from llm_responses.wire.engines import ENGINES

PAGE = 50
ELSEWHERE = 12  # the same prompt's other answers shown beside one
INDEX_KEYS = ("project", "prompt", "brand", "model", "country", "from", "to", "days")


def _cursor(text: str) -> tuple[float, str] | None:
    try:
        at, task_id = parse_finished_cursor(text)
    except ValueError:
        raise BadFilter("Not a page cursor: follow the Older link.") from None
    return None if (at, task_id) == (0.0, "") else (at, task_id)


def _with_facts(row: dict[str, Any], facts: AnswerFacts | None, own: str | None) -> dict[str, Any]:
    named = [b for b in facts.brands if b.mentioned] if facts else []
    return {
        **row,
        "country": alpha2(facts.location_code) if facts else "",
        "citations": facts.citations if facts else 0,
        "brands": "; ".join(f"{b.brand} #{b.position}" if b.position else b.brand for b in named),
        "own_named": bool(own) and any(b.brand == own for b in named),
        "snippet": plain(facts.snippet) if facts else "",
    }


async def tasks(request: Request, account: Account, site: Site) -> Response:
    q = request.query_params
    if any(k in q for k in INDEX_KEYS):
        return await _indexed_answers(request, account, site)
    engine = q.get("engine") or None
    if engine is not None and engine not in ENGINES:
        raise BadFilter("No such engine.")
    tag = q.get("tag") or None
    if tag is not None and (len(tag) > 255 or not tag.isprintable()):
        raise BadFilter("A tag is at most 255 printable characters.")
    outcome = q.get("status") or None
    if outcome not in (None, "done", "failed"):
        raise BadFilter("Status: done or failed.")
    api = api_of(request)
    records = await api.store.latest_tasks(
        account.id, before=_cursor(q.get("after", "")), se=engine, tag=tag, outcome=outcome, limit=PAGE
    )
    facts = await api.mentions.answer_facts(account.id, [r.id for r in records])
    rows = [_with_facts(task_row(r), facts.get(r.id), None) for r in records]
    nxt = ""
    if len(records) == PAGE:  # the filters ride along: the next page is the same list, further back
        kept = {k: v for k, v in (("tag", tag), ("engine", engine), ("status", outcome)) if v}
        nxt = urlencode({"after": finished_cursor(records[-1]), **kept})
    total = sum(r["cost"] for r in rows)
    return out(
        request,
        "tasks.html",
        rows,
        account=account,
        engines=list(ENGINES),
        next=nxt,
        total=total,
        indexed=False,
    )


async def _indexed_answers(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    q = request.query_params
    f = parse_filters(q)
    t = await tracked(api, account, f, site.brands)
    digest = q.get("prompt") or None
    if digest is not None and (len(digest) > 64 or not digest.isalnum()):
        raise BadFilter("Not a prompt: follow a link from the matrix.")
    brand = q.get("brand") or None
    if brand is not None and (len(brand) > 255 or not brand.isprintable()):
        raise BadFilter("A brand is at most 255 printable characters.")
    cf = answers_of(f, t)
    before = _cursor(q.get("after", ""))
    async with heavy(request, account):
        found = await api.mentions.answer_list(
            account.id, cf, brand=brand, prompt_hash=digest, before=before, limit=PAGE
        )
        facts = await api.mentions.answer_facts(account.id, [a.task_id for a in found])
    rows = []
    for a in found:
        record = await api.store.get_task(account.id, a.task_id)
        if record is not None:
            rows.append(_with_facts(task_row(record), facts.get(a.task_id), t.own))
    nxt = ""
    if len(found) == PAGE:
        nxt = f.query(prompt=digest, brand=brand, after=f"{found[-1].asked_at!r}|{found[-1].task_id}")
    about = found[0].question if digest and found else ""
    return out(
        request, "tasks.html", rows, account=account, **bar(f, t, prompt=digest, brand=brand), next=nxt,
        total=sum(r["cost"] for r in rows), indexed=True, brand=brand, prompt_text=about,
    )  # fmt: skip


def _marks(brands: tuple[TrackedBrand, ...], facts: AnswerFacts | None) -> list[BrandMark]:
    positions = {b.brand: b.position for b in facts.brands} if facts else {}
    return [
        BrandMark(b.name, (b.name, *b.aliases), b.own, b.competitor, positions.get(b.name)) for b in brands
    ]


def answer_view(record: TaskRecord, t: Tracked, facts: AnswerFacts | None, cut: str | None) -> dict[str, Any]:
    """One answer as the page and its ``.json`` twin show it."""
    stored = StoredTask(record)
    result, data, reading = stored.result or {}, stored.data or {}, stored.reading
    marks = _marks(t.brands, facts)
    sections = []
    for text, cited in reading.sections:
        rendered = render_answer(text, list(cited), marks)
        sections.append({
            "text": text, "html": rendered.html, "annotations": list(cited),
            "sources": [{"number": s.number, "url": s.url, "title": s.title, "domain": s.domain} for s in rendered.sources],
        })  # fmt: skip
    named = [b for b in (facts.brands if facts else ()) if b.mentioned or b.cited]
    return {
        **task_row(record), "result_model": result.get("model_name"), "input_tokens": result.get("input_tokens"),
        "output_tokens": result.get("output_tokens"), "reasoning_tokens": result.get("reasoning_tokens"),
        "money_spent": result.get("money_spent"), "web_search": result.get("web_search"),
        "fan_out_queries": result.get("fan_out_queries") or [], "reasoning": list(reading.reasoning),
        "sections": sections, "truncated": cut, "max_output_tokens": data.get("max_output_tokens"),
        "country": alpha2(facts.location_code) if facts else "", "project": t.name,
        "brands": [{"brand": b.brand, "position": b.position, "mentioned": b.mentioned, "cited": b.cited,
                    "own": b.brand == t.own, "competitor": b.competitor} for b in named],
    }  # fmt: skip


async def answer(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    task_id = request.path_params["task_id"]
    record = (
        await api.store.get_task(account.id, task_id)
        if len(task_id) <= 64 and task_id.isprintable()
        else None
    )
    if record is None:
        return error(request, 404, "No such task.")
    mentions = api.mentions
    row = await mentions.answer_of(account.id, task_id)
    others: list[AnswerRow] = []
    if row is not None and row.prompt_hash:
        same = CountFilter(project_id=row.project_id)
        others = [
            a
            for a in await mentions.answer_list(
                account.id, same, prompt_hash=row.prompt_hash, limit=ELSEWHERE + 1
            )
            if a.task_id != task_id
        ][:ELSEWHERE]
    facts = await mentions.answer_facts(account.id, [task_id, *(a.task_id for a in others)])
    cut = await mentions.incomplete_reason(account.id, task_id)
    t = await tracked_by_id(api, account, row.project_id if row else 0, site.brands)
    view = answer_view(record, t, facts.get(task_id), cut)
    view["elsewhere"] = [
        {"id": a.task_id, "engine": a.engine, "model": a.model, "day": a.day, "run_id": a.run_id,
         "same_engine": row is not None and a.engine == row.engine,
         **{k: v for k, v in _with_facts({}, facts.get(a.task_id), t.own).items()}}
        for a in others
    ]  # fmt: skip
    fmt = fmt_of(request)
    if fmt == "json":
        return JSONResponse(view)
    if fmt == "csv":
        flat = {k: v for k, v in view.items() if not isinstance(v, list)}
        return out(request, "answer.html", [flat])
    f = parse_filters(request.query_params)  # the list's filters, kept by the page's links
    page = env.get_template("answer.html").render(
        a=view, account=account, t=t, f=f, prompt_hash=row.prompt_hash if row else ""
    )
    return HTMLResponse(page)
