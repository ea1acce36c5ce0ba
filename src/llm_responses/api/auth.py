"""Who is calling: HTTP Basic (login + API password) or ``Authorization: Bearer <token>``."""

from __future__ import annotations

import base64
import binascii

from llm_responses.accounts.credentials import Hasher
from llm_responses.errors import ApiError, StatusCode
from llm_responses.store.base import Account, Store


class Authenticator:
    def __init__(self, store: Store, hasher: Hasher) -> None:
        self.store = store
        self.hasher = hasher

    async def authenticate(self, authorization: str | None) -> Account:
        """The caller's account, read fresh (its balance matters), or ``ApiError(40100)``."""
        scheme, _, value = (authorization or "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        account = None
        if scheme == "basic" and value:
            login, password = _basic_credentials(value)
            if login:
                account = await self.store.account_by_login(login)
                if account is not None and not self.hasher.matches(password, account.password_hash):
                    account = None
        elif scheme == "bearer" and value:
            account = await self.store.account_by_token_hash(self.hasher.digest(value))
        if account is None:
            raise ApiError(StatusCode.UNAUTHORIZED)
        return account


def _basic_credentials(value: str) -> tuple[str, str]:
    try:  # a header value is any latin-1 text: non-ASCII raises ValueError, not binascii.Error
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return "", ""
    login, sep, password = decoded.partition(":")
    return (login, password) if sep else ("", "")
