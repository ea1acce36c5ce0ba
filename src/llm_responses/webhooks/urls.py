"""Webhook URLs as DataForSEO fills them in: ``$id`` → the task id, ``$tag`` → the URL-encoded tag, and any
character that may not appear in a URL percent-encoded (``#`` → ``%23``, as documented; a space → ``%20``).
Escapes already present (``%2F``) are kept as they are.
"""

from __future__ import annotations

from urllib.parse import quote

# RFC 3986 reserved and unreserved characters, and "%" for escapes already made; "#" is left out on purpose
_KEEP = ":/?&=@+,;!$'()*[]~-._%"


def fill(template: str, task_id: str, tag: str | None) -> str:
    url = template.replace("$id", task_id).replace("$tag", quote(tag or "", safe=""))
    return quote(url, safe=_KEEP)
