"""Credentials under attack: failed logins are throttled per login and address, the key stays outside the
database, and a process with the wrong key refuses to start."""

import base64

import pytest

from llm_responses.accounts.key_file import KeyMismatch
from llm_responses.composition import make_hasher, make_store
from tests.api.wire_check import assert_top_error
from tests.conftest import LLM


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


async def test_failed_logins_are_throttled_per_login_and_address(running_with):
    async with running_with(auth_failures_per_login=3, auth_failures_per_address=6) as harness:
        alice = await harness.account()
        bob = await harness.account("bob")
        for _ in range(3):
            r = await harness.client.get(f"{LLM}/tasks_ready", headers=basic("alice", "guess"))
            assert_top_error(
                r.json(),
                40100,
                "You are not authorized to access this resource. See your login details here: https://app.dataforseo.com/api-dashboard .",
            )
        # the right password no longer helps for this login from this address: guessing is stopped
        r = await harness.client.get(f"{LLM}/tasks_ready", headers=alice.basic)
        assert r.status_code == 401 and "Too many failed attempts" in r.json()["status_message"]
        # another login from the same address still works, until the address itself is throttled
        assert (await harness.client.get(f"{LLM}/tasks_ready", headers=bob.basic)).status_code == 200
        for _ in range(3):
            await harness.client.get(f"{LLM}/tasks_ready", headers=basic("nobody", "x"))
        r = await harness.client.get(f"{LLM}/tasks_ready", headers=bob.basic)
        assert r.status_code == 401 and "Too many failed attempts" in r.json()["status_message"]


async def test_successes_never_count(running_with):
    async with running_with(auth_failures_per_login=2) as harness:
        alice = await harness.account()
        for _ in range(10):
            assert (await harness.client.get(f"{LLM}/tasks_ready", headers=alice.basic)).status_code == 200


async def test_a_key_kept_in_the_database_by_an_older_version_moves_to_the_file(settings, tmp_path):
    store = make_store(settings)
    await store.open()
    try:
        await store.meta_get_or_set("credential_hmac_key", "old-key-from-the-database")
        key_file = tmp_path / "moved.key"
        hasher = await make_hasher(store, settings.updated({"secret_key_file": str(key_file)}))
        assert hasher.key == b"old-key-from-the-database"  # existing credentials stay valid
        assert key_file.read_text().strip() == "old-key-from-the-database"
        assert await store.meta_get_or_set("credential_hmac_key", "x") == ""  # no copy left behind
    finally:
        await store.close()


async def test_a_different_key_refuses_to_start(settings, tmp_path):
    store = make_store(settings)
    await store.open()
    try:
        await make_hasher(store, settings.updated({"secret_key": "the-first-key"}))
        with pytest.raises(KeyMismatch):
            await make_hasher(store, settings.updated({"secret_key": "another-key"}))
    finally:
        await store.close()


async def test_an_unknown_login_costs_the_same_digest_work_as_a_wrong_password(settings):
    # timing cannot be asserted reliably at microsecond scale; what makes it equal can: both paths compute and
    # compare one digest (before, an unknown login returned without any)
    from llm_responses.accounts.credentials import Hasher
    from llm_responses.api.auth import Authenticator
    from llm_responses.errors import ApiError

    class CountingHasher(Hasher):
        calls = 0

        def matches(self, secret: str, stored_digest: str) -> bool:
            CountingHasher.calls += 1
            return super().matches(secret, stored_digest)

    store = make_store(settings)
    await store.open()
    try:
        hasher = CountingHasher(b"k")
        await store.create_account("alice", hasher.digest("right"), hasher.digest("tok"), 0)
        auth = Authenticator(store, hasher)
        for login in ("alice", "nobody"):
            before = CountingHasher.calls
            with pytest.raises(ApiError):
                await auth.authenticate(basic(login, "wrong")["Authorization"], "10.0.0.1")
            assert CountingHasher.calls - before == 1, login
    finally:
        await store.close()
