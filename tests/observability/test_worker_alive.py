"""``llm-responses worker-alive``: a worker container's health check, from the heartbeat readiness uses."""

from __future__ import annotations

import asyncio
import socket
import time

from click.testing import CliRunner

from llm_responses.cli import main
from llm_responses.composition import make_store


def heartbeat(settings, owner: str, at: float) -> None:
    async def beat() -> None:
        store = make_store(settings)
        await store.open()
        try:
            await store.worker_heartbeat(owner, at, 0)
        finally:
            await store.close()

    asyncio.run(beat())


def alive(settings) -> int:
    env = {"LLM_RESPONSES_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(main, ["worker-alive"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def test_only_a_fresh_heartbeat_of_this_host_counts(settings):
    assert alive(settings) == 1  # no worker at all
    heartbeat(settings, "another-host:7:abc", time.time())
    assert alive(settings) == 1  # a worker elsewhere is not this container's
    here = f"{socket.gethostname()}:8:def"
    heartbeat(settings, here, time.time() - 3600)
    assert alive(settings) == 1  # this host's, but stale
    heartbeat(settings, here, time.time())
    assert alive(settings) == 0
