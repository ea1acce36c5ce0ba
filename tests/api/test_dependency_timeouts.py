"""A hung Redis or a stuck PostgreSQL statement bounds the wait: calls fail open (Redis) or fail with an
envelope (PostgreSQL), never hang and never become a stack of 500s."""

import gc
import socket
import threading
import time

import asyncpg
import pytest

from llm_responses.store import Store
from llm_responses.store.postgres_database import PostgresDatabase
from tests import pg
from tests.api.seed import SEED_TASK
from tests.conftest import LLM


@pytest.fixture
def hung_redis():
    """A TCP server that accepts connections and never says a word, like a Redis frozen mid-fork."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


# redis-py leaves the stream of a connection whose connect timed out to the garbage collector: collected here,
# so its ResourceWarning is counted against this test (and ignored), not against whichever test runs next
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_hung_redis_lets_calls_through_with_a_warning(running_with, hung_redis, fake_openai, caplog):
    async with running_with(redis_url=hung_redis, redis_timeout_seconds=0.2) as harness:
        alice = await harness.account()
        started = time.monotonic()
        live = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
        ready = await harness.get(f"{LLM}/tasks_ready", alice)
        user_data = await harness.get("/v3/appendix/user_data", alice)
        elapsed = time.monotonic() - started
    assert live["tasks"][0]["status_code"] == 20000
    assert ready["status_code"] == 20000 and user_data["status_code"] == 20000
    assert elapsed < 2.0  # one timeout, then Redis is left alone for a while
    assert "Redis (rate limits) unavailable" in caplog.text
    assert "Redis (live slots) unavailable" in caplog.text
    gc.collect()


async def test_a_stuck_postgres_statement_is_cut_off(pg_databases):
    await pg.require()
    url = await pg_databases.new()
    store = Store(PostgresDatabase(url, command_timeout=0.5))
    await store.open()
    try:
        locker = await asyncpg.connect(url)  # another session holds the accounts table
        await locker.execute("BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises((TimeoutError, asyncpg.QueryCanceledError)):
            await store.create_account("a", "h", "t", 1)
        assert time.monotonic() - started < 3
        await locker.execute("ROLLBACK")
        await locker.close()
    finally:
        await store.close()
