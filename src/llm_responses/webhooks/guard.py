"""The address guard: webhooks reach only globally routable addresses (``ip.is_global``), never loopback,
private, shared (100.64.0.0/10), link-local, site-local, multicast, reserved or cloud metadata addresses,
unless an operator allowlists them (``LLM_RESPONSES_WEBHOOK_ALLOWLIST``). IPv6 forms that carry an IPv4
address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by the address they carry as well.

Refusals of a *name* say only that it resolves to an address webhooks may not reach: which address, and
what kind, would tell a caller how internal names resolve. A temporary DNS failure is ``Unresolved``, which
the sender retries like any network error; a name that does not exist is refused.

A hostname is resolved and *every* address it has is checked (one internal address among public ones is
enough to refuse), and the request then goes to an address that was checked — the name is not resolved
again by the HTTP client, so a DNS answer that changes between check and connect (rebinding) gets nowhere.
Redirects are not followed. At task_post time only what can be decided without DNS is checked (scheme,
IP literals, ``localhost``), so accepting tasks never waits on a resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from llm_responses.errors import Refused, Unresolved

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}  # AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba
# not global although Python 3.11's is_global says so (IANA special-purpose registries)
NOT_GLOBAL = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "fec0::/10", "2001:db8::/32", "100::/64")]
NAT64 = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48")]


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lowercase, no brackets)
    port: int
    address: str  # the checked IP to connect to


def carried_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (IPv4-mapped, 6to4, Teredo's server and client); NAT64
    prefixes are judged by ``forbidden`` on their IPv4 part alone."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def forbidden(ip: IPAddress) -> str | None:
    """Why a webhook may not go to ``ip``, or ``None`` when it is a public address."""
    if any(
        ip.version == net.version and ip in net for net in NAT64
    ):  # a translator's prefix: only the IPv4 counts
        return forbidden(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for inner in carried_ipv4(ip):
        why = forbidden(inner)
        if why:
            return why
    if ip in METADATA:
        return "a cloud metadata address"
    for test, why in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_private, "a private address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_reserved, "a reserved address"),
    ):
        if test:
            return why
    if not ip.is_global or any(ip.version == net.version and ip in net for net in NOT_GLOBAL):
        return "not a public address"
    return None


class AddressGuard:
    def __init__(self, allowlist: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for entry in (e.strip().lower() for e in allowlist):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry)

    @classmethod
    def from_setting(cls, value: str | None) -> AddressGuard:
        return cls((value or "").split(","))

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks)

    def _check_ip(self, ip: IPAddress, host: str) -> None:
        why = forbidden(ip)
        if why and not self._allowed_ip(ip):
            if host == str(ip):
                raise Refused(f"{host} is {why}")
            log.info(
                "webhook host %s refused: it resolves to %s, %s", host, ip, why
            )  # the operator's log only
            raise Refused(f"{host} resolves to an address webhooks may not reach")

    @staticmethod
    def _parts(url: str) -> tuple[str, str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise Refused(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("only http and https URLs with a host can receive webhooks")
        return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)

    def check_without_dns(self, url: str) -> None:
        """What task_post can decide at once: the scheme, IP literals and ``localhost``."""
        _, host, _ = self._parts(url)
        if host in self.hosts:
            return
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host == "localhost" or host.endswith(".localhost"):
                raise Refused(f"{host} is a loopback address") from None
            return
        self._check_ip(ip, host)

    async def resolve(self, url: str) -> Target:
        """The address to connect to; raises ``Refused`` if the host has any forbidden address."""
        scheme, host, port = self._parts(url)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            if host not in self.hosts:
                self._check_ip(literal, host)
            return Target(scheme, host, port, str(literal))
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
                raise Unresolved(f"{host}: temporary DNS failure") from None
            raise Refused(f"{host} does not resolve") from None
        except (OSError, UnicodeError):
            raise Refused(f"{host} does not resolve") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise Refused(f"{host} has no address")
        if host not in self.hosts:
            for address in addresses:
                self._check_ip(ipaddress.ip_address(address), host)
        return Target(scheme, host, port, addresses[0])
