"""The process's log handler: text lines or JSON lines (``LLM_RESPONSES_LOG_FORMAT``), both redacted.

A JSON line carries what a log pipeline filters on: time, level, logger, message, and, when known, the
request id, the account, the task id and the trace id (``context``), plus a record's ``extra`` fields
(the access log's method, path, status and milliseconds). Every string a line carries — message,
traceback, extras — goes through the same ``Redactor`` as the text format: configured secrets and
anything shaped like a key or a credential become ``[redacted]``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from llm_responses.observability import context
from llm_responses.redaction import RedactingFormatter, Redactor

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# the HTTP clients' per-request INFO lines would cost more than a live call's overhead; google_genai logs
# "AFC is enabled" at INFO on every call
NOISY = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "anthropic", "google_genai")
# what every LogRecord has: anything else on a record came in ``extra`` and goes into the JSON line
# (uvicorn's ``color_message`` is its message again, with terminal colours)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        request = context.request.get()
        if request is not None:
            line["request_id"] = request.request_id
            account = request.account
            if account is not None:
                line["account"] = account
            if request.trace_id is not None:
                line["trace_id"] = request.trace_id
        task = context.task_id.get()
        if task is not None:
            line["task_id"] = task
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = self.redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = self.redact(self.formatStack(record.stack_info))
        return orjson.dumps(line, default=str).decode()


def configure(level: str, fmt: Literal["text", "json"], secrets: Iterable[str]) -> None:
    """The root logger's one handler, at ``level``, in ``fmt``, redacting ``secrets`` and key shapes."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else RedactingFormatter(redact, TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
