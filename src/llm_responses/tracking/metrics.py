"""A project's brand metrics as its alert rules read them: one run's answers, or a span of days', from the
mentions index (``analysis.brand_metrics``, the path the dashboard, MCP and the CLI read too)."""

from __future__ import annotations

from typing import Any

from llm_responses.analysis.brand_metrics import BrandQuery, brand_metrics
from llm_responses.store import Store


class ProjectMetrics:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def of_run(
        self, account_id: int, project_id: int, run_id: int, by: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        return await brand_metrics(
            self.store, account_id, BrandQuery(by=by, project_id=project_id, run_id=run_id)
        )

    async def of_days(
        self, account_id: int, project_id: int, date_from: str, date_to: str, by: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        query = BrandQuery(by=by, project_id=project_id, date_from=date_from, date_to=date_to)
        return await brand_metrics(self.store, account_id, query)
