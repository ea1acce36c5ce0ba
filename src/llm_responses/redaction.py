"""Secrets out of what we log and store: provider keys, our own tokens, credentials in headers and URLs.

An upstream's error text is kept for the operator (the log, ``tasks.error_detail``), and some upstreams
echo what they were sent: a proxy quoting the ``Authorization`` header, a self-hosted server printing its
configuration, OpenAI's "Incorrect API key provided: sk-...". ``Redactor`` replaces the secrets this
server was configured with wherever they appear, and anything shaped like a key or a credential, with
``[redacted]``. ``RedactingFormatter`` applies it to every log line, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MARK = "[redacted]"
# key-shaped strings: OpenAI (sk-, sk-proj-, also Anthropic's sk-ant-), Perplexity, Google, our API tokens;
# credentials after an auth scheme; values of key-, token-, secret- and password-named fields or parameters
_SHAPES = re.compile(
    r"(?P<key>\b(?:sk-|pplx-|lr_)[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{30,})"
    r"|(?P<name>\b(?:[Bb]earer|[Bb]asic)\s+|\b[Aa]pi[_-]?[Kk]ey=|\bkey="
    r"|[\"'](?:api_key|apikey|token|secret|password|x-api-key|x-goog-api-key)[\"']\s*:\s*[\"'])"
    r"[A-Za-z0-9._~+/=-]{6,}"
)


def _mark(found: re.Match[str]) -> str:
    return MARK if found.group("key") else found.group("name") + MARK


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        known = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(s) for s in known)) if known else None

    def __call__(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(MARK, text)
        return _SHAPES.sub(_mark, text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line (message and traceback) has gone through a ``Redactor``."""

    def __init__(self, redact: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))
