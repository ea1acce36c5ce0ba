"""Requests a browser sends on another site's behalf, told apart from an API client's.

A browser that has an account's credentials cached (HTTP Basic, typed once into its login prompt) attaches
them to every request to this host, including a form another site submits (``enctype=text/plain`` passes
for a JSON body, and DataForSEO's own clients send no Content-Type, so a Content-Type rule would break
them). Browsers mark such requests, and API clients (curl, the official clients, SDKs) send neither mark:

- ``Sec-Fetch-Site`` (every current browser): ``cross-site`` or ``same-site`` is another site's doing;
  ``same-origin`` and ``none`` (typed, bookmarked) are the user's;
- ``Origin`` (older browsers, on POSTs): another host than this one, or ``null`` (a sandboxed frame).

The host is compared without the scheme, so a TLS-terminating proxy in front does not look cross-site.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from llm_responses.errors import CrossSiteRefused

_OTHER_SITE = ("cross-site", "same-site")


def is_cross_site(headers: Mapping[str, str]) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.lower() in _OTHER_SITE
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    try:
        other = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    return other != headers.get("host", "").lower()


def refuse_cross_site(headers: Mapping[str, str]) -> None:
    """``CrossSiteRefused`` (40100, no login challenge) for a request another site made a browser send."""
    if is_cross_site(headers):
        raise CrossSiteRefused()
