"""Signed deliveries: ``X-LLMR-Signature: t=<unix seconds>,v1=<hex>`` where hex is HMAC-SHA256 with the
account's webhook secret over ``"<t>.<task id>." + body`` (the exact bytes sent: the gzip for a postback,
nothing for a pingback). The task id binds a signature to its task, the timestamp lets receivers refuse
replays (we suggest 5 minutes of tolerance). For a day after a rotation both secrets sign (two ``v1=``).

An alert's delivery has no task: it carries ``X-LLMR-Alert-Id`` instead of ``X-LLMR-Task-Id`` and signs
``"alert:<alert id>"`` where a task's signs its id, so a signature made for one can never pass for the other
(task ids are UUIDs) and a task receiver's check is unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-LLMR-Signature"
TASK_HEADER = "X-LLMR-Task-Id"
DELIVERY_HEADER = "X-LLMR-Delivery-Id"  # the same on every retry of one delivery: receivers deduplicate on it
ALERT_HEADER = "X-LLMR-Alert-Id"
ROTATION_GRACE_SECONDS = 86400.0


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def alert_subject(alert_id: int) -> str:
    """What an alert's signature binds in place of a task id."""
    return f"alert:{alert_id}"


def _mac(secret: str, timestamp: int, task_id: str, body: bytes) -> str:
    message = f"{timestamp}.{task_id}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], task_id: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={_mac(s, t, task_id, body)}" for s in secrets_)])


def verify(
    header: str, secret: str, task_id: str, body: bytes, *, tolerance: float = 300, now: float | None = None
) -> bool:
    """The receiver's check (also shown in docs/webhooks.md)."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [v for k, v in fields if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = _mac(secret, t, task_id, body)
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")
