"""Run one vendor's fake on its own (for the benchmarks and manual runs): prints its base URL, then serves.

``python -m tests.fakes.serve anthropic|gemini|perplexity|openai[-batch] [latency seconds]`` (``-batch``: with
the vendor's batch API too)
"""

from __future__ import annotations

import sys
import time

from tests.fakes.anthropic_batch import FakeAnthropicBatch
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_batch import FakeGeminiBatch
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_batch import FakeOpenAIBatch
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.perplexity_agent_server import FakePerplexityAgent
from tests.fakes.perplexity_batch import FakePerplexityAgentBatch

FAKES = {
    "anthropic": FakeAnthropic,
    "gemini": FakeGemini,
    "perplexity": FakePerplexityAgent,
    "openai": FakeOpenAI,
    "anthropic-batch": FakeAnthropicBatch,
    "gemini-batch": FakeGeminiBatch,
    "perplexity-batch": FakePerplexityAgentBatch,
    "openai-batch": FakeOpenAIBatch,
}


def main() -> None:  # pragma: no cover - a command, not a test
    fake = FAKES[sys.argv[1]]()
    fake.latency = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    fake.start()
    print(fake.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
