"""The demo project (``cli/demo_data.py``: French theme parks, ``theme-parks``) answered by the four vendors'
fakes with web search, one run per past day, as ``serve --demo`` makes it with the embedded model: what the
dashboard's tests click through.

ChatGPT's answers are scripted so that something moves: for the first days it names only Parc Astérix,
from ``TURN`` days ago Disneyland Paris (the own brand) first and Parc Astérix second, so the own brand's
visibility on chat_gpt rises in the last days and the overview has a change to show.
"""

from __future__ import annotations

import re
from typing import Any

from llm_responses.cli.demo_data import DEMO_PROMPTS, PROJECT, seed
from llm_responses.config import Settings
from tests.fakes.openai_replies import Reply

DAYS = 8
TURN = 3  # the last TURN days name the own brand on chat_gpt
MODELS = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}
BEFORE = (
    "Parc Astérix is the best choice for a family weekend near Paris, with rides for every age "
    "([fr.wikipedia.org](https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix)). Book ahead in summer."
)
AFTER = (
    "## Our pick\n\nDisneyland Paris is the most visited park in Europe and the easiest with young children; "
    "Parc Astérix is cheaper and better for thrill rides "
    "([grandviewresearch.com](https://www.grandviewresearch.com/horizon/outlook/amusement-parks-market/france)).\n\n"
    "- **Disneyland Paris**: two parks, hotels on site\n- **Parc Astérix**: roller coasters, shorter queues"
)


def vendor_settings(
    settings: Settings, fake_anthropic: Any, fake_gemini: Any, fake_perplexity: Any
) -> Settings:
    return settings.updated(
        {
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": fake_anthropic.base_url,
            "anthropic_max_retries": 0,
            "gemini_api_key": "AIza-test",
            "gemini_base_url": fake_gemini.base_url,
            "gemini_max_retries": 0,
            "perplexity_api_key": "pplx-test",
            "perplexity_base_url": fake_perplexity.base_url,
            "perplexity_max_retries": 0,
        }
    )


def vendor_env(settings: Settings) -> dict[str, str]:
    """The same vendors for a ``serve`` process (tests/e2e's ``Server``)."""
    return {
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "LLM_RESPONSES_ANTHROPIC_BASE_URL": str(settings.anthropic_base_url),
        "GEMINI_API_KEY": "AIza-test",
        "LLM_RESPONSES_GEMINI_BASE_URL": str(settings.gemini_base_url),
        "PERPLEXITY_API_KEY": "pplx-test",
        "LLM_RESPONSES_PERPLEXITY_BASE_URL": str(settings.perplexity_base_url),
    }


def script_chat_gpt(fake_openai: Any) -> None:
    """ChatGPT's answers, day by day (oldest first, each day's prompts in the project's order)."""
    for day in range(DAYS, 0, -1):
        for prompt, _ in DEMO_PROMPTS:
            req = {"model": MODELS["chat_gpt"], "input": prompt, "tools": [{"type": "web_search"}]}
            text = AFTER if day <= TURN else BEFORE
            body = fake_openai.build_response(req, text=text, search=True)
            message = next(o for o in body["output"] if o["type"] == "message")
            message["content"][0]["annotations"] = cited(text)
            fake_openai.enqueue(Reply(body=body))


def cited(text: str) -> list[dict[str, Any]]:
    """OpenAI's url_citation annotations for the inline ``([domain](url))`` links of ``text``."""
    return [
        {
            "type": "url_citation",
            "start_index": m.start(),
            "end_index": m.end(),
            "url": m.group(2),
            "title": m.group(1),
        }
        for m in re.finditer(r"\(\[([^\]]+)\]\((https://[^)]+)\)\)", text)
    ]


async def seed_demo(harness: Any, fake_openai: Any, login: str) -> int:
    """The demo project with ``DAYS`` days of history on the account ``login``; how many answers."""
    script_chat_gpt(fake_openai)
    stored = await seed(
        harness.api, login=login, days=DAYS, model=MODELS, web_search=True, max_output_tokens=400
    )
    await harness.indexed()
    return stored


__all__ = ["DAYS", "MODELS", "PROJECT", "TURN", "seed_demo", "vendor_env", "vendor_settings"]
