"""The address guard: webhooks never reach loopback, private, link-local, multicast, reserved or cloud
metadata addresses, unless an operator allowlists them (``LLM_RESPONSES_WEBHOOK_ALLOWLIST``).

A hostname is resolved and *every* address it has is checked (one internal address among public ones is
enough to refuse), and the request then goes to an address that was checked — the name is not resolved
again by the HTTP client, so a DNS answer that changes between check and connect (rebinding) gets nowhere.
Redirects are not followed. At task_post time only what can be decided without DNS is checked (scheme,
IP literals, ``localhost``), so accepting tasks never waits on a resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
            ipaddress.ip_address("100.100.100.200")}  # AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba


class Refused(ValueError):
    """The URL may not be called; the message says why (shown to the account owner)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lowercase, no brackets)
    port: int
    address: str  # the checked IP to connect to


def forbidden(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return forbidden(ip.ipv4_mapped)
    if ip in METADATA:
        return "a cloud metadata address"
    for test, why in ((ip.is_loopback, "a loopback address"), (ip.is_private, "a private address"),
                      (ip.is_link_local, "a link-local address"), (ip.is_multicast, "a multicast address"),
                      (ip.is_unspecified, "an unspecified address"), (ip.is_reserved, "a reserved address")):
        if test:
            return why
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
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise Refused(f"{shown} is {why}")

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
        except OSError as exc:
            raise Refused(f"{host} does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not addresses:
            raise Refused(f"{host} has no address")
        if host not in self.hosts:
            for address in addresses:
                self._check_ip(ipaddress.ip_address(address), host)
        return Target(scheme, host, port, addresses[0])
