"""The official ``dataforseo-client``'s LLM Mentions calls against a real ``serve`` process: its typed
request models go out, its response models parse every answer; and the ``mentions-index`` backfill
re-indexes stored answers after the tracked brands change."""

from __future__ import annotations

import datetime
import json
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from dataforseo_client.api.ai_optimization_api import AiOptimizationApi
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_live_request_info import (
    AiOptimizationChatGptLlmResponsesLiveRequestInfo,
)
from dataforseo_client.models.ai_optimization_l_lm_mentions_domain_element import (
    AiOptimizationLLmMentionsDomainElement as Domain,
)
from dataforseo_client.models.ai_optimization_l_lm_mentions_keyword_element import (
    AiOptimizationLLmMentionsKeywordElement as Keyword,
)
from dataforseo_client.models.ai_optimization_l_lm_mentions_multi_target_metrics_request_info import (
    AiOptimizationLLmMentionsMultiTargetMetricsRequestInfo as Group,
)
from dataforseo_client.models.ai_optimization_llm_mentions_historical_live_request_info import (
    AiOptimizationLlmMentionsHistoricalLiveRequestInfo as Historical,
)
from dataforseo_client.models.ai_optimization_llm_mentions_multi_target_metrics_live_request_info import (
    AiOptimizationLlmMentionsMultiTargetMetricsLiveRequestInfo as MultiTarget,
)
from dataforseo_client.models.ai_optimization_llm_mentions_search_mentions_live_request_info import (
    AiOptimizationLlmMentionsSearchMentionsLiveRequestInfo as Search,
)
from dataforseo_client.models.ai_optimization_llm_mentions_target_metrics_live_request_info import (
    AiOptimizationLlmMentionsTargetMetricsLiveRequestInfo as TargetMetrics,
)
from dataforseo_client.models.ai_optimization_llm_mentions_timeseries_delta_live_request_info import (
    AiOptimizationLlmMentionsTimeseriesDeltaLiveRequestInfo as Delta,
)
from dataforseo_client.models.ai_optimization_llm_mentions_timeseries_new_lost_live_request_info import (
    AiOptimizationLlmMentionsTimeseriesNewLostLiveRequestInfo as NewLost,
)
from dataforseo_client.models.ai_optimization_llm_mentions_top_mentioned_brands_lite_live_request_info import (
    AiOptimizationLlmMentionsTopMentionedBrandsLiteLiveRequestInfo as TopBrandsLite,
)
from dataforseo_client.models.ai_optimization_llm_mentions_top_mentioned_brands_live_request_info import (
    AiOptimizationLlmMentionsTopMentionedBrandsLiveRequestInfo as TopBrands,
)
from dataforseo_client.models.ai_optimization_llm_mentions_top_mentioned_domains_live_request_info import (
    AiOptimizationLlmMentionsTopMentionedDomainsLiveRequestInfo as TopDomains,
)
from dataforseo_client.models.ai_optimization_llm_mentions_top_mentioned_pages_live_request_info import (
    AiOptimizationLlmMentionsTopMentionedPagesLiveRequestInfo as TopPages,
)

from tests.e2e.test_official_client import Server, client_for

pytestmark = pytest.mark.e2e

PROMPTS = [
    ("Acme or Globex for a small team?", False),
    ("Acme pricing", False),
    ("Globex support quality", False),
    ("amusement parks in France", True),
]


def brands_file(path, *names: str):
    path.write_text("".join(f'[[brands]]\nname = "{n}"\n' for n in names), "utf-8")
    return str(path)


def indexed(db: Path, within: float = 30.0) -> None:
    """Until the server's worker has read every answer into the mentions index (its outbox is empty)."""
    deadline = time.monotonic() + within
    while True:
        with closing(sqlite3.connect(db)) as conn:
            if not conn.execute("SELECT COUNT(*) FROM mention_outbox").fetchone()[0]:
                return
        assert time.monotonic() < deadline, "answers left unindexed"
        time.sleep(0.05)


def ok(response):
    assert response.status_code == 20000
    task = response.tasks[0]
    assert task.status_code == 20000, task.status_message
    return task.result[0]


def test_official_client_reads_every_mentions_answer(tmp_path, fake_openai):
    config = tmp_path / "brands.toml"
    server = Server(tmp_path / "m.db", fake_openai.base_url, LLM_RESPONSES_CONFIG=brands_file(config, "Acme"))
    creds = json.loads(server.cli("accounts", "create", "m", "--balance", "5", "--json"))
    server.start()
    try:
        with client_for(server, creds["login"], creds["password"]) as api_client:
            api = AiOptimizationApi(api_client)
            for prompt, web in PROMPTS:
                live = api.chat_gpt_llm_responses_live(
                    [
                        AiOptimizationChatGptLlmResponsesLiveRequestInfo(
                            user_prompt=prompt,
                            model_name="gpt-4.1-mini",
                            web_search=web,
                            web_search_country_iso_code="US" if web else None,
                        )  # fmt: skip
                    ]
                )
                assert live.tasks[0].status_code == 20000
            indexed(tmp_path / "m.db")
            acme = [Keyword(keyword="acme", match_type="word_match")]

            found = ok(api.llm_mentions_search_mentions_live([Search(target=acme, limit=1)]))
            assert found.total_count == 2 and found.items_count == 1 and found.search_after_token
            assert found.items[0].brand_entities[0].title == "Acme"
            more = ok(
                api.llm_mentions_search_mentions_live(
                    [Search(target=acme, limit=1, search_after_token=found.search_after_token)]
                )
            )
            assert {found.items[0].question, more.items[0].question} == {
                "Acme or Globex for a small team?",
                "Acme pricing",
            }

            cited = [Domain(domain="wikipedia.org", include_subdomains=True, search_scope=["sources"])]
            metrics = ok(api.llm_mentions_target_metrics_live([TargetMetrics(target=cited)]))
            assert metrics.aggregated_metrics.total.mentions == 1
            assert metrics.aggregated_metrics.location[0].key == "2840"

            groups = ok(
                api.llm_mentions_multi_target_metrics_live(
                    [
                        MultiTarget(
                            targets=[
                                Group(key="us", target=acme),
                                Group(key="them", target=[Keyword(keyword="globex")]),
                            ]
                        )
                    ]
                )
            )
            assert {i.key: i.total.mentions for i in groups.items} == {"us": 2, "them": 2}

            domains = ok(
                api.llm_mentions_top_mentioned_domains_live([TopDomains(target=cited, links_scope="sources")])
            )
            assert domains.items and all(i.domain.endswith(".org") or "." in i.domain for i in domains.items)
            pages = ok(api.llm_mentions_top_mentioned_pages_live([TopPages(target=cited)]))
            assert pages.items[0].page.startswith("https://")
            top = ok(api.llm_mentions_top_mentioned_brands_live([TopBrands(target=acme)]))
            assert [(i.brand, i.total.mentions) for i in top.items] == [("Acme", 2)]
            flat = ok(api.llm_mentions_top_mentioned_brands_lite_live([TopBrandsLite(target=acme)]))
            assert [(i.brand, i.platform, i.metrics.mentions) for i in flat.items] == [
                ("Acme", "chat_gpt", 2)
            ]

            places = api.llm_mentions_locations_and_languages()
            assert places.tasks[0].status_code == 20000
            us = next(p for p in places.tasks[0].result if p.location_code == 2840)
            assert us.location_name == "United States of America"
            assert us.available_languages[0].available_platforms == ["chat_gpt"]
            assert us.available_languages[0].responses_count == 1
            filters = api.llm_mentions_available_filters().tasks[0].result[0]
            assert filters.search_mentions["first_response_at"] == "time"
            assert filters.top_mentioned_domains == {
                "domain": "str",
                "total.mentions": "num",
                "total.ai_search_volume": "num",
            }

            today = datetime.datetime.now(datetime.UTC).date()
            history = ok(api.llm_mentions_historical_live([Historical(target=acme)]))
            assert (history.items[-1].year, history.items[-1].month) == (today.year, today.month)
            assert history.items[-1].metrics.mentions == 2
            delta = ok(
                api.llm_mentions_timeseries_delta_live(
                    [
                        Delta(
                            target=acme,
                            date_from=today.isoformat(),
                            date_to=today.isoformat(),
                            group_range="day",
                        )
                    ]
                )
            )
            assert delta.items[0].delta_mentions == 2
            new_lost = ok(
                api.llm_mentions_timeseries_new_lost_live(
                    [
                        NewLost(
                            target=acme,
                            date_from=today.isoformat(),
                            date_to=today.isoformat(),
                            group_range="week",
                        )
                    ]
                )
            )
            assert (new_lost.items[0].new_mentions, new_lost.items[0].lost_mentions) == (2, 0)
        server.kill(signal.SIGTERM)

        # Globex becomes a tracked brand: the backfill re-finds the brands in the stored answers
        brands_file(config, "Acme", "Globex")
        out = server.cli("mentions-index", "--rebuild")
        assert "m: 4 answers indexed now, 4 in the index" in out
        server.start()
        with client_for(server, creds["login"], creds["password"]) as api_client:
            api = AiOptimizationApi(api_client)
            top = ok(
                api.llm_mentions_top_mentioned_brands_live([TopBrands(target=[Keyword(keyword="globex")])])
            )
            assert [(i.brand, i.total.mentions) for i in top.items] == [("Globex", 2), ("Acme", 1)]
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill(signal.SIGTERM)
