"""``accounts``: create, list, top up and show API accounts (money in USD, kept as integer nanos)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from llm_responses.accounts.credentials import new_password, new_token
from llm_responses.billing.money import to_decimal, to_nanos
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.composition import make_hasher
from llm_responses.errors import AccountExists, AccountNotFound
from llm_responses.store import Store
from llm_responses.store.records import Account


def _usd(value: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"not an amount in USD: {value!r}") from None
    if not amount.is_finite():
        raise click.BadParameter(f"not an amount in USD: {value!r}")
    return to_nanos(amount)


def _fmt(nanos: int) -> str:
    return f"{to_decimal(nanos).normalize():f}"


def _account_json(account: Account, **extra: Any) -> dict[str, Any]:
    return {"login": account.login, "balance": _fmt(account.balance), **extra}


@main.group()
def accounts() -> None:
    """Create and manage API accounts."""


@accounts.command("create")
@click.argument("login")
@click.option(
    "--password",
    default=None,
    help="API password (generated when omitted; visible in `ps`: prefer the two below).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the API password from standard input (its first line)."
)
@click.option("--prompt-password", is_flag=True, help="Ask for the API password (not echoed, asked twice).")
@click.option("--balance", default="0", help="Starting balance in USD.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
def accounts_create(
    login: str,
    password: str | None,
    password_stdin: bool,
    prompt_password: bool,
    balance: str,
    as_json: bool,
    database_url: str | None,
) -> None:
    """Create an account; prints its login, API password and bearer token (shown only now)."""
    amount = _usd(balance)
    if amount < 0:
        raise click.BadParameter("the starting balance cannot be negative", param_hint="--balance")
    if not login or ":" in login:
        raise click.BadParameter("a login must be non-empty and contain no ':'", param_hint="LOGIN")
    if sum((password is not None, password_stdin, prompt_password)) > 1:
        raise click.UsageError("choose one of --password, --password-stdin and --prompt-password")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif prompt_password:
        password = click.prompt("API password", hide_input=True, confirmation_prompt=True)
    if password is not None and not password:
        raise click.BadParameter("the password is empty", param_hint="password")
    password = password or new_password()
    token = new_token()

    settings = settings_from(database_url)

    async def create(store: Store) -> Account:
        hasher = await make_hasher(store, settings)
        return await store.create_account(login, hasher.digest(password), hasher.digest(token), amount)

    try:
        account = with_store(settings, create)
    except AccountExists:
        click.echo(f"error: account {login!r} already exists", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(_account_json(account, password=password, token=token)))
    else:
        click.echo(
            f"login:    {account.login}\npassword: {password}\ntoken:    {token}\nbalance:  {_fmt(account.balance)} USD"
        )


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True)
@database_option
def accounts_list(as_json: bool, database_url: str | None) -> None:
    """List accounts and their balances."""
    found = with_store(settings_from(database_url), lambda store: store.list_accounts())
    if as_json:
        click.echo(json.dumps([_account_json(a) for a in found]))
        return
    for a in found:
        click.echo(f"{a.login}\t{_fmt(a.balance)} USD")


@accounts.command("topup", context_settings={"ignore_unknown_options": True})
@click.argument("login")
@click.argument("usd")
@click.option(
    "--allow-negative", is_flag=True, help="Allow a negative amount to take the balance below zero."
)
@click.option("--json", "as_json", is_flag=True)
@database_option
def accounts_topup(
    login: str, usd: str, allow_negative: bool, as_json: bool, database_url: str | None
) -> None:
    """Add USD to an account's balance (a negative amount, e.g. -100, takes money back); recorded in the ledger."""
    amount = _usd(usd)

    async def top_up(store: Store) -> Account | None:
        current = await store.account_by_login(login)
        if current is None:
            raise AccountNotFound(login)
        if amount < 0 and current.balance + amount < 0 and not allow_negative:
            return None
        return await store.top_up(login, amount)

    try:
        account = with_store(settings_from(database_url), top_up)
    except AccountNotFound:
        click.echo(f"error: no account {login!r}", err=True)
        sys.exit(1)
    if account is None:
        click.echo(
            f"error: {login}'s balance would go below zero (use --allow-negative to allow it)", err=True
        )
        sys.exit(1)
    click.echo(
        json.dumps(_account_json(account)) if as_json else f"{login}: balance {_fmt(account.balance)} USD"
    )


@accounts.command("show")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
@database_option
def accounts_show(login: str, as_json: bool, database_url: str | None) -> None:
    """Show an account: balance and the ledger's sum (always equal)."""

    async def show(store: Store) -> tuple[Account | None, int]:
        account = await store.account_by_login(login)
        return account, (await store.ledger_sum(account.id) if account else 0)

    account, ledger = with_store(settings_from(database_url), show)
    if account is None:
        click.echo(f"error: no account {login!r}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(_account_json(account, ledger_sum=_fmt(ledger))))
    else:
        click.echo(
            f"login:   {account.login}\nbalance: {_fmt(account.balance)} USD\nledger:  {_fmt(ledger)} USD"
        )
