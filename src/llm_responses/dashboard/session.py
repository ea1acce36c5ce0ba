"""The dashboard's own login: a signed session cookie, so the browser never holds API credentials.

With HTTP Basic the browser caches the account's API password and attaches it to every request to this
host, the API's included, so any other site could make it post tasks (docs/security.md). The login form
instead sets a cookie that only the dashboard reads (``Path=/dashboard``), that a browser never sends with
another site's request (``SameSite=Strict``) and that no script can read (``HttpOnly``).

The cookie is ``<account id>.<expiry>.<signature>``: an HMAC of both and of the account's current password
digest, under a key derived from the credential key (``accounts/key_file``). Nothing is stored; a session
ends when it expires, when the user logs out (the cookie is cleared), or for every browser at once when
the account's password is reset.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from llm_responses.store.records import Account

COOKIE = "llmr_dashboard"
LIFETIME_SECONDS = 12 * 3600


@lru_cache(maxsize=8)
def _session_key(credential_key: bytes) -> bytes:
    return hmac.new(credential_key, b"llm-responses dashboard sessions", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Session:
    account_id: int
    expires: int
    signature: str


def _sign(key: bytes, account_id: int, expires: int, password_hash: str) -> str:
    message = f"{account_id}.{expires}.{password_hash}".encode()
    return hmac.new(_session_key(key), message, hashlib.sha256).hexdigest()


def issue(key: bytes, account: Account, now: float) -> str:
    """The cookie's value for a login that just succeeded."""
    expires = int(now + LIFETIME_SECONDS)
    return f"{account.id}.{expires}.{_sign(key, account.id, expires, account.password_hash)}"


def parse(value: str | None) -> Session | None:
    """The cookie's parts, when it has the shape of one (checked against the account by ``valid``)."""
    if not value or len(value) > 128:
        return None
    account_id, _, rest = value.partition(".")
    expires, _, signature = rest.partition(".")
    if not (account_id.isdigit() and expires.isdigit() and len(signature) == 64):
        return None
    return Session(int(account_id), int(expires), signature)


def valid(key: bytes, session: Session, account: Account, now: float) -> bool:
    """Unexpired, and signed for this account and its current password."""
    if session.expires < now or session.account_id != account.id:
        return False
    expected = _sign(key, account.id, session.expires, account.password_hash)
    return hmac.compare_digest(expected, session.signature)
