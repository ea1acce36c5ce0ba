"""Who is calling: HTTP Basic (login + API password) or ``Authorization: Bearer <token>``.

An unknown login costs the same work as a wrong password (a digest is compared either way), so timing
does not tell which logins exist. Failed attempts are throttled in this process: after
``per_login`` failures a minute for one login from one client address, or ``per_address`` failures a
minute from one address, that pair (or address) is refused without a check until the minute is over.
Only failures count: a caller that authenticates is never slowed down.
"""

from __future__ import annotations

import base64
import binascii

from limits import RateLimitItemPerMinute, storage
from limits.aio import strategies

from llm_responses.accounts.credentials import Hasher
from llm_responses.errors import ApiError, StatusCode
from llm_responses.store import Store
from llm_responses.store.records import Account

_NO_ACCOUNT_DIGEST = "0" * 64  # compared against when the login is unknown: the same work as a real one
THROTTLED_MESSAGE = StatusCode.UNAUTHORIZED.message + " Too many failed attempts: try again in a minute."


class Authenticator:
    def __init__(self, store: Store, hasher: Hasher, *, per_login: int = 10, per_address: int = 100) -> None:
        self.store = store
        self.hasher = hasher
        self._per_login = RateLimitItemPerMinute(per_login)
        self._per_address = RateLimitItemPerMinute(per_address)
        self._failures = strategies.FixedWindowRateLimiter(storage.storage_from_string("async+memory://"))

    async def authenticate(self, authorization: str | None, address: str = "") -> Account:
        """The caller's account, read fresh (its balance matters), or ``ApiError(40100)``."""
        scheme, _, value = (authorization or "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "basic" and value:
            login, password = _basic_credentials(value)
            if login:
                return await self.login(login, password, address)
        elif scheme == "bearer" and value:
            await self._refuse_if_throttled("", address)
            account = await self.store.account_by_token_hash(self.hasher.digest(value))
            if account is not None:
                return account
            await self._failed("", address)
        raise ApiError(StatusCode.UNAUTHORIZED)

    async def login(self, login: str, password: str, address: str = "") -> Account:
        """The account of a login and its API password (Basic, the dashboard's login form), throttled."""
        if not login or "\x00" in login or "\x00" in password:
            raise ApiError(StatusCode.UNAUTHORIZED)
        await self._refuse_if_throttled(login, address)
        account = await self.store.account_by_login(login)
        stored = account.password_hash if account is not None else _NO_ACCOUNT_DIGEST
        matched = self.hasher.matches(password, stored)  # the same digest work for an unknown login
        if account is None or not matched:
            await self._failed(login, address)
            raise ApiError(StatusCode.UNAUTHORIZED)
        return account

    async def _refuse_if_throttled(self, login: str, address: str) -> None:
        if not await self._failures.test(self._per_address, "address", address) or (
            login and not await self._failures.test(self._per_login, "login", login, address)
        ):
            raise ApiError(StatusCode.UNAUTHORIZED, THROTTLED_MESSAGE)

    async def _failed(self, login: str, address: str) -> None:
        await self._failures.hit(self._per_address, "address", address)
        if login:
            await self._failures.hit(self._per_login, "login", login, address)


def _basic_credentials(value: str) -> tuple[str, str]:
    try:  # a header value is any latin-1 text: non-ASCII raises ValueError, not binascii.Error
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return "", ""
    login, sep, password = decoded.partition(":")
    return (login, password) if sep else ("", "")
