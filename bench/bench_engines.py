"""Latency our live endpoint adds per engine: the same request sent (a) straight to the engine's fake with
its vendor's official SDK and (b) through ``POST /v3/ai_optimization/{se}/llm_responses/live``, one call of
each in turn at concurrency 1, every fake in its own process.

Run: ./dev bench   (or .venv/bin/python bench/bench_engines.py [requests])
Target (issue 13): each engine's added p50 ≤ 1.5 × chat_gpt's, measured in the same run.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
from google import genai
from google.genai import types
from openai import AsyncOpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_live_overhead import PROMPT, interleaved, timed  # noqa: E402
from bench.harness import PY, ROOT, Service, ms, pct  # noqa: E402


class Fake:
    def __init__(self, vendor: str) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.fakes.serve", vendor], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self.base_url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def run(requests: int) -> None:
    logging.getLogger("google_genai").setLevel(logging.WARNING)  # "AFC is enabled" on every call
    fakes = {vendor: Fake(vendor) for vendor in ("openai", "anthropic", "gemini", "perplexity")}
    service = Service(
        fakes["openai"].base_url,
        ANTHROPIC_API_KEY="sk-ant-bench",
        ANTHROPIC_BASE_URL=fakes["anthropic"].base_url,
        GEMINI_API_KEY="AIza-bench",
        LLM_RESPONSES_GEMINI_BASE_URL=fakes["gemini"].base_url,
        PERPLEXITY_API_KEY="pplx-bench",
        PERPLEXITY_BASE_URL=fakes["perplexity"].base_url,
    )
    openai_sdk = AsyncOpenAI(api_key="sk-bench", base_url=fakes["openai"].base_url, max_retries=0)
    claude_sdk = anthropic.AsyncAnthropic(
        api_key="sk-ant-bench", base_url=fakes["anthropic"].base_url, max_retries=0,
        default_headers={"anthropic-version": "2023-06-01"},
    )  # fmt: skip
    gemini_sdk = genai.Client(
        api_key="AIza-bench",
        http_options=types.HttpOptions(base_url=fakes["gemini"].base_url, api_version="v1beta"),
    )
    pplx_sdk = AsyncOpenAI(api_key="pplx-bench", base_url=fakes["perplexity"].base_url + "/v1", max_retries=0)
    direct = {
        "chat_gpt": lambda: openai_sdk.responses.create(
            model="gpt-4.1-mini",
            input=PROMPT,
            max_output_tokens=2048,
            temperature=0.94,
            top_p=0.92,
            store=False,
        ),
        "claude": lambda: claude_sdk.messages.create(
            model="claude-haiku-4-5",
            max_tokens=2048,
            messages=[{"role": "user", "content": PROMPT}],
            extra_body={"temperature": 0.7},
        ),  # fmt: skip
        "gemini": lambda: gemini_sdk.aio.models.generate_content(
            model="gemini-2.5-flash",
            contents=PROMPT,
            config=types.GenerateContentConfig(
                temperature=1.3,
                top_p=0.9,
                max_output_tokens=2048,
                thinking_config=types.ThinkingConfig(thinking_budget=0),
            ),
        ),  # fmt: skip
        "perplexity": lambda: pplx_sdk.responses.create(  # the Agent API, as Perplexity's docs call it
            model="perplexity/sonar",
            input=[{"role": "user", "content": PROMPT}],
            max_output_tokens=2048,
            temperature=0.77,
            top_p=0.9,
            tools=[{"type": "web_search"}],
            tool_choice={"type": "web_search"},
        ),  # fmt: skip
    }
    models = {
        "chat_gpt": "gpt-4.1-mini",
        "claude": "claude-haiku-4-5",
        "gemini": "gemini-2.5-flash",
        "perplexity": "sonar",
    }
    try:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=30)
        async with httpx.AsyncClient(auth=service.auth, timeout=60, limits=limits) as http:
            print(
                "live added latency per engine vs its fake called directly with the vendor's SDK (same run)"
            )
            added: dict[str, float] = {}
            for se, call in direct.items():

                async def live(se: str = se) -> None:
                    r = await http.post(
                        f"{service.url}/v3/ai_optimization/{se}/llm_responses/live",
                        json=[{"model_name": models[se], "user_prompt": PROMPT}],
                    )
                    assert r.json()["tasks"][0]["status_code"] == 20000, r.text

                async def upstream(call=call) -> None:
                    await call()

                for warm in (upstream, live):
                    await timed(30, 1, warm)
                base, ours = await interleaved(requests, upstream, live)
                added[se] = pct(ours, 50) - pct(base, 50)
                print(f"  {se:<10} direct {ms(base)}")
                print(f"  {'':<10} live   {ms(ours)}; added p50 {added[se] * 1000:.2f} ms")
            for se in ("claude", "gemini", "perplexity"):
                ratio = added[se] / added["chat_gpt"]
                print(
                    f"  {se:<10} added ÷ chat_gpt's: {ratio:.2f}x (target <= 1.5: {'OK' if ratio <= 1.5 else 'MISSED'})"
                )
    finally:
        await openai_sdk.close()
        await claude_sdk.close()
        await pplx_sdk.close()
        service.stop()
        for fake in fakes.values():
            fake.stop()


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300))
