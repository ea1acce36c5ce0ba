"""One spelling of a domain: lower case, without a leading ``www.`` and without the DNS root's trailing dot.

The mentions index keeps a cited URL's host in it and every query (a target's ``domain``, a ``*_domains``
filter, a brand's configured domains) looks for a domain in it, so ``https://Example.com./x`` cited in an
answer and ``example.com`` asked for are one domain, whichever side carries the dot.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*")
MAX_CHARS = 255


def canonical(host: str) -> str:
    """``www.Example.COM.`` → ``example.com``."""
    return host.lower().removeprefix("www.").strip(".")


def domain_of(url: str) -> str:
    """A cited URL's host, canonical ("" for one that does not parse)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return canonical(host)


def normalize_domain(raw: Any) -> str | None:
    """A domain as a client writes it (``https://www.Example.com/x``, ``example.com.``), canonical; None
    when it is no domain."""
    if not isinstance(raw, str) or len(raw) > MAX_CHARS:
        return None
    host = _SCHEME.sub("", raw.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    host = canonical(host)
    if not host or not _HOST.fullmatch(host):
        return None
    return host
