"""The address guard: internal addresses are refused at task_post when decidable, and always at delivery."""

import asyncio
import ipaddress
import socket
import time

import pytest

from llm_responses.errors import Refused
from llm_responses.webhooks.guard import AddressGuard, forbidden
from tests.conftest import LLM, running

INTERNAL = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9000/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://localhost:8000/x",
    "http://api.localhost/",
]


def own_hostname_is_loopback() -> str | None:
    """This machine's own name, when it resolves to loopback (true on the project's machines, via /etc/hosts)."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        return None
    return name if addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses) else None


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_literals_are_refused_without_dns(url):
    with pytest.raises(Refused):
        AddressGuard().check_without_dns(url)


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/x?id=$id", "http://93.184.216.34/", "http://[2606:4700::1111]/"]
)
def test_public_addresses_and_names_pass_the_quick_check(url):
    AddressGuard().check_without_dns(url)


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",
        "100.127.255.254",  # shared address space (carrier-grade NAT)
        "192.0.0.8",
        "198.18.0.1",
        "192.0.2.1",
        "240.0.0.1",  # IETF protocol, benchmarking, documentation, reserved
        "fec0::1",  # site-local (deprecated, still routed internally by some networks)
        "2002:c0a8:0101::1",
        "2002:7f00:0001::",  # 6to4 around 192.168.1.1 and 127.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
        "64:ff9b::a00:1",
        "64:ff9b:1::c0a8:101",  # NAT64 around 10.0.0.1 and 192.168.1.1
        "::ffff:100.64.0.1",
        "2001:db8::1",
    ],
)
def test_only_globally_routable_addresses_pass(address):
    assert forbidden(ipaddress.ip_address(address)) is not None
    with pytest.raises(Refused):
        AddressGuard().check_without_dns(f"http://[{address}]/" if ":" in address else f"http://{address}/")


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "2002:0808:0808::1", "64:ff9b::808:808"])
def test_public_addresses_including_wrapped_ones_pass(address):
    assert forbidden(ipaddress.ip_address(address)) is None


def test_forbidden_explains_why():
    assert forbidden(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    assert forbidden(ipaddress.ip_address("::ffff:10.0.0.1")) == "a private address"
    assert forbidden(ipaddress.ip_address("8.8.8.8")) is None


def test_allowlist_takes_cidrs_and_hostnames():
    guard = AddressGuard.from_setting("127.0.0.1/32, hooks.internal ,10.0.0.0/8")
    guard.check_without_dns("http://127.0.0.1:9/")
    guard.check_without_dns("http://10.20.30.40/")
    with pytest.raises(Refused):
        guard.check_without_dns("http://127.0.0.2/")
    with pytest.raises(Refused):
        guard.check_without_dns("ftp://hooks.internal/")


async def test_resolution_checks_the_name_every_time():
    name = own_hostname_is_loopback()
    if name is None:
        pytest.skip("this machine's hostname does not resolve to loopback")
    with pytest.raises(Refused, match="resolves to an address webhooks may not reach") as refused:
        await AddressGuard().resolve(f"http://{name}:8080/")
    assert "127.0.0.1" not in str(refused.value) and "loopback" not in str(
        refused.value
    )  # nothing about where
    target = await AddressGuard.from_setting("127.0.0.0/8").resolve(f"http://{name}:8080/")
    assert target.address == "127.0.0.1" and target.host == name.lower() and target.port == 8080
    with pytest.raises(Refused, match="does not resolve"):
        await AddressGuard().resolve("http://no-such-host.invalid/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.0.0.7/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://localhost/",
    ],
)
async def test_task_post_refuses_internal_webhooks_with_a_clear_40501(settings, url):
    async with running(settings) as h:
        alice = await h.account()
        body = await h.post(
            f"{LLM}/task_post",
            alice,
            [
                {"model_name": "gpt-4.1-mini", "user_prompt": "x", "postback_url": url},
                {"model_name": "gpt-4.1-mini", "user_prompt": "x", "pingback_url": url},
            ],
        )
        for task, field in zip(body["tasks"], ("postback_url", "pingback_url"), strict=True):
            assert task["status_code"] == 40501
            assert task["status_message"].startswith(f"Invalid Field: '{field}'. ")
            assert "address" in task["status_message"]
        assert await h.balance(alice) == 10 * 10**9  # refused tasks cost nothing


async def test_a_name_resolving_to_loopback_is_refused_at_delivery_and_not_retried(settings, receiver):
    name = own_hostname_is_loopback()
    if name is None:
        pytest.skip("this machine's hostname does not resolve to loopback")
    config = settings.updated({"webhook_poll_seconds": 0.05})
    async with running(config) as h:
        alice = await h.account()
        body = await h.post(
            f"{LLM}/task_post",
            alice,
            [
                {
                    "model_name": "gpt-4.1-mini",
                    "user_prompt": "x",
                    "pingback_url": f"http://{name}:{receiver.port}/hook",
                }
            ],
        )
        task_id = body["tasks"][0]["id"]
        assert body["tasks"][0]["status_code"] == 20100  # not decidable without DNS
        deadline = time.monotonic() + 10
        while True:
            [view] = (await h.get(f"/v3/appendix/webhook_deliveries/{task_id}", alice))["tasks"][0][
                "result"
            ] or [None]
            if view and view["status"] != "pending":
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert view["status"] == "failed" and view["attempts"] == 1
        assert (
            view["history"][0]["error"]
            == f"refused: {name.lower()} resolves to an address webhooks may not reach"
        )
        assert receiver.received == []


async def test_a_temporary_dns_failure_is_retried_not_refused(monkeypatch):
    # EAI_AGAIN ("try again") from the resolver: the attempt is retryable, the URL is not refused for good
    from llm_responses.errors import Unresolved

    loop = asyncio.get_running_loop()

    async def flaky(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(loop, "getaddrinfo", flaky)
    with pytest.raises(Unresolved):
        await AddressGuard().resolve("https://hooks.example.com/x")

    async def missing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", missing)
    with pytest.raises(Refused, match="does not resolve"):
        await AddressGuard().resolve("https://hooks.example.com/x")
