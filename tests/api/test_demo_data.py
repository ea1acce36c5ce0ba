"""The demo dataset: real answers posted as on past days, once per database, which the mentions index
and the LLM Mentions endpoints then show day by day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llm_responses.cli.demo_data import DEMO_BRANDS, seed

MENTIONS = "/v3/ai_optimization/llm_mentions"


async def test_seed_answers_prompts_on_past_days_once(running_with):
    async with running_with(brands=[b.model_dump() for b in DEMO_BRANDS]) as h:
        alice = await h.account()
        prompts = ["Disneyland Paris or Parc Astérix?", "Is Futuroscope fun?"]
        # the fake OpenAI stands in for the embedded model here: gpt-4.1-mini is served on chat_gpt only
        stored = await seed(h.api, login="alice", days=3, prompts=prompts, model="gpt-4.1-mini")
        assert stored == 3 * len(prompts)
        assert await seed(h.api, login="alice", days=3, prompts=prompts, model="gpt-4.1-mini") == 0  # once
        assert await seed(h.api, login="alice", days=3, prompts=prompts, model="no-such-model") == 0

        today = datetime.now(UTC).date()
        body = await h.post(
            f"{MENTIONS}/timeseries_delta/live",
            alice,
            [
                {
                    "target": [{"keyword": "Disneyland"}],
                    "platform": "chat_gpt",
                    "date_from": (today - timedelta(days=3)).isoformat(),
                    "date_to": today.isoformat(),
                    "group_range": "day",
                }
            ],
        )
        items = body["tasks"][0]["result"][0]["items"]
        by_day = {i["date"]: i["delta_mentions"] for i in items}
        # one answer naming Disneyland on each of the three past days (the fake echoes the prompt), none today
        assert by_day[(today - timedelta(days=3)).isoformat()] == 1
        assert by_day[(today - timedelta(days=2)).isoformat()] == 0
        assert by_day[today.isoformat()] == -1
        brands = await h.post(
            f"{MENTIONS}/top_mentioned_brands/live",
            alice,
            [{"target": [{"keyword": "answer"}], "platform": "chat_gpt"}],
        )
        names = {i["brand"]: i["total"]["mentions"] for i in brands["tasks"][0]["result"][0]["items"]}
        assert names == {"Disneyland Paris": 3, "Parc Astérix": 3, "Futuroscope": 3}
