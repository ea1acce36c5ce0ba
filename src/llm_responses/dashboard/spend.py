"""``/dashboard/spend``: what the account's tasks cost per day and engine over the last ``SPEND_DAYS``
days, what failed, and what the vendors' batch APIs saved."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.dashboard.views import spend_rows
from llm_responses.dashboard.web import Site, api_of, out
from llm_responses.store.records import Account

SPEND_DAYS = 90


async def spend(request: Request, account: Account, site: Site) -> Response:
    since = time.time() - SPEND_DAYS * 86400
    rows = spend_rows(await api_of(request).store.spend_by_day(account.id, since))
    rows.sort(key=lambda r: (r["day"], r["engine"]), reverse=True)  # newest first
    engines = sorted({r["engine"] for r in rows})
    chart = [  # one stacked series per engine
        {
            "name": e,
            "data": {r["day"]: r["cost"] for r in sorted(rows, key=lambda r: r["day"]) if r["engine"] == e},
        }
        for e in engines
    ]
    total = round(sum(r["cost"] for r in rows), 6)
    saved = round(sum(r["batch_saved"] for r in rows), 6)
    per_engine = {e: round(sum(r["cost"] for r in rows if r["engine"] == e), 6) for e in engines}
    return out(
        request, "spend.html", rows, account=account, chart=chart, total=total, saved=saved, days=SPEND_DAYS,
        per_engine=per_engine, tasks=sum(r["tasks"] for r in rows), failed=sum(r["failed"] for r in rows),
    )  # fmt: skip
