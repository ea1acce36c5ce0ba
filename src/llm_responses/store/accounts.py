"""Transactions on accounts, the ledger and meta: each written once, for both databases.

Money and the rows that explain it always move together: every balance change writes a ledger row in the
same transaction, so ``balance == sum(ledger)`` holds for every account at every commit.
"""

from __future__ import annotations

from llm_responses.errors import AccountExists, AccountNotFound, UniqueViolation
from llm_responses.store.connection import Connection
from llm_responses.store.records import Account, LedgerKind
from llm_responses.store.rows import ledger_row, read_account


async def meta_get_or_set(c: Connection, key: str, value: str) -> str:
    await c.execute("meta_insert_if_missing", key, value)
    return str(await c.fetchval("meta_get", key))


async def account(c: Connection, query: str, **key: object) -> Account | None:
    """``query``: account_by_id (``id=``), account_by_login (``login=``), account_by_token_hash
    (``token_hash=``)."""
    row = await c.fetchrow(query, **key)
    return read_account(row) if row else None


async def _written_account(c: Connection, account_id: int | None, login: str) -> Account:
    """The account this transaction just wrote (``account_id`` None: the statement found no such login)."""
    found = None if account_id is None else await account(c, "account_by_id", id=account_id)
    if found is None:
        raise AccountNotFound(login)
    return found


async def create_account(
    c: Connection, login: str, password_hash: str, token_hash: str, balance: int, now: float
) -> Account:
    try:
        account_id = await c.fetchval(
            "insert_account", login=login, password_hash=password_hash, token_hash=token_hash, balance=balance,
            created_at=now,
        )  # fmt: skip
    except UniqueViolation as exc:
        raise AccountExists(login) from exc
    if balance:
        await c.execute("insert_ledger", **ledger_row(account_id, None, LedgerKind.TOPUP, balance, now))
    return await _written_account(c, account_id, login)


async def top_up(c: Connection, login: str, amount: int, now: float) -> Account:
    account_id = await c.fetchval("top_up_by_login", login=login, amount=amount)
    if account_id is not None:
        await c.execute("insert_ledger", **ledger_row(account_id, None, LedgerKind.TOPUP, amount, now))
    return await _written_account(c, account_id, login)


async def reset_credentials(c: Connection, login: str, password_hash: str, token_hash: str) -> Account:
    account_id = await c.fetchval(
        "reset_credentials", login=login, password_hash=password_hash, token_hash=token_hash
    )
    return await _written_account(c, account_id, login)
