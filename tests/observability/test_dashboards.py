"""docs/grafana-dashboard.json and docs/prometheus-alerts.yaml only name metrics the server exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.api.seed import SEED_TASK
from tests.conftest import LLM
from tests.metrics_text import Exposition

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\bllm_responses_[a-z_]+\b")


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    assert dashboard["panels"] and dashboard["uid"] == "llm-responses"
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert all(panel["targets"] for panel in dashboard["panels"])
    return queries


def alert_queries() -> list[str]:
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yaml").read_text())["groups"][0]["rules"]
    assert all(rule["alert"].startswith("LlmResponses") for rule in rules)
    return [rule["expr"] for rule in rules]


async def test_every_metric_the_dashboard_and_the_alerts_name_exists(harness, fake_openai):
    alice = await harness.account()
    await harness.post(f"{LLM}/live", alice, [SEED_TASK])  # so that every labelled family has samples
    exposition = Exposition((await harness.client.get("/metrics")).text)
    named = {name for query in dashboard_queries() + alert_queries() for name in NAME.findall(query)}
    assert named and named <= exposition.names, named - exposition.names
    # and docs/operations.md describes every family the server exposes
    documented = (DOCS / "operations.md").read_text()
    families = {f.name for f in exposition.families if f.name.startswith("llm_responses_")}
    assert {f for f in families if f not in documented} == set()
