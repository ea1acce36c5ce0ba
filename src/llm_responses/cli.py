"""The ``llm-responses`` command. Thin: parses arguments and calls into the packages.

Command and option names are a contract (docs, scripts and tests outside the repo rely on them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click

from llm_responses.accounts.credentials import new_password, new_token
from llm_responses.app import create_app
from llm_responses.billing.money import to_decimal, to_nanos
from llm_responses.composition import make_hasher, make_store
from llm_responses.config import Settings
from llm_responses.errors import AccountExists, AccountNotFound
from llm_responses.heap import freeze_startup_heap
from llm_responses.store.records import Account
from llm_responses.store.store import Store

T = TypeVar("T")


def _settings(database_url: str | None, **overrides: Any) -> Settings:
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _with_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    async def go() -> T:
        store = make_store(settings)
        await store.open()
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


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


database_option = click.option(
    "--database-url",
    envvar="LLM_RESPONSES_DATABASE_URL",
    default=None,
    help="sqlite:///path.db (default: ./llm-responses.db)",
)


@click.group()
@click.version_option(package_name="llm-responses")
def main() -> None:
    """Self-hosted DataForSEO-compatible LLM Responses API."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
@database_option
@click.option("--no-worker", is_flag=True, help="Serve the API only; run workers elsewhere.")
@click.option(
    "--demo", is_flag=True, help="Create a 'demo' account (kept across starts) and print a curl to try."
)
def serve(host: str | None, port: int | None, database_url: str | None, no_worker: bool, demo: bool) -> None:
    """Run the API server and, unless --no-worker, the task worker in the same process."""
    import uvicorn

    from llm_responses.api.http_server import server_config

    settings = _settings(database_url, host=host, port=port, worker_enabled=False if no_worker else None)
    _configure_logging(settings.log_level)
    # the port first: a busy one fails here, before the database (or the demo account) is touched
    try:
        sock = _listen(settings.host, settings.port)
    except OSError as exc:
        click.echo(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", err=True
        )
        sys.exit(1)
    if demo:
        login, password, token = _with_store(settings, lambda store: _demo_account(store, settings))
        _print_demo(settings, login, password, token)
    app = create_app(settings)
    freeze_startup_heap()
    uvicorn.Server(server_config(app, settings)).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


@main.command()
@click.option("--concurrency", default=None, type=int, help="Tasks run at once by this process (default 16).")
@database_option
def worker(concurrency: int | None, database_url: str | None) -> None:
    """Run a worker process: tasks and webhook deliveries, no HTTP. SIGTERM stops it gracefully."""
    from llm_responses.app import run_worker

    settings = _settings(database_url, worker_concurrency=concurrency)
    _configure_logging(settings.log_level)
    freeze_startup_heap()
    # uvloop, as uvicorn uses for `serve`: the worker's event loop is a fifth of its CPU on the default loop
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run_worker(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it everywhere it has wheels; the default loop works too
        return None
    return uvloop.new_event_loop


def _configure_logging(level: str = "INFO") -> None:
    """Our own lines at ``level``; the HTTP clients' per-request INFO lines would cost more than a live call's overhead."""
    logging.basicConfig(
        level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _demo_file(settings: Settings) -> Path:
    """Where the demo account's credentials are kept (0600), so every start prints the same ones."""
    if settings.database_url.startswith("sqlite:///"):
        return Path(settings.database_url[len("sqlite:///") :] + ".demo.json")
    return Path("llm-responses.demo.json")


async def _demo_account(store: Store, settings: Settings) -> tuple[str, str, str]:
    """The demo account: created once with $100; its credentials kept in ``_demo_file`` and printed on
    every start. Reset only when that file is gone or no longer matches (then a new pair is printed)."""
    hasher = await make_hasher(store, settings)
    path = _demo_file(settings)
    account = await store.account_by_login("demo")
    try:
        kept = json.loads(path.read_text("utf-8"))
        if account is not None and hasher.matches(kept["password"], account.password_hash):
            return "demo", kept["password"], kept["token"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    password, token = new_password(), new_token()
    if account is None:
        await store.create_account("demo", hasher.digest(password), hasher.digest(token), to_nanos("100"))
    else:
        await store.reset_credentials("demo", hasher.digest(password), hasher.digest(token))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"login": "demo", "password": password, "token": token}, f)
    return "demo", password, token


def _demo_model(settings: Settings) -> str:
    """The model the printed curl uses: OpenAI's when configured, else the embedded model's own name."""
    if settings.openai_api_key or settings.openai_base_url or settings.local_model == "off":
        return "gpt-4.1-mini"
    from llm_responses.providers.local_model import default_model_path, model_name_for

    path = Path(settings.local_model_path) if settings.local_model_path else default_model_path()
    return settings.local_model_name or (model_name_for(path) if path else "gpt-4.1-mini")


def _print_demo(settings: Settings, login: str, password: str, token: str) -> None:
    base = f"http://{settings.host}:{settings.port}"
    model = _demo_model(settings)
    click.echo(
        f"""
Demo account: login {login}  password {password}  token {token}
Try it (the seed's live example, answered by {model}):

curl -s -u {login}:{password} -H 'Content-Type: application/json' \\
  {base}/v3/ai_optimization/chat_gpt/llm_responses/live \\
  --data-raw '[{{"system_message": "communicate as if we are in a business meeting", "model_name": "{model}", "user_prompt": "provide information on how relevant the amusement park business is in France now"}}]'

Models: curl -s -H 'Authorization: Bearer {token}' {base}/v3/ai_optimization/chat_gpt/llm_responses/models
""",
        err=False,
    )


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Bring the database schema up to date (serve does this too)."""
    settings = _settings(database_url)
    _with_store(settings, lambda store: asyncio.sleep(0))
    click.echo("database is up to date")


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

    settings = _settings(database_url)

    async def create(store: Store) -> Account:
        hasher = await make_hasher(store, settings)
        return await store.create_account(login, hasher.digest(password), hasher.digest(token), amount)

    try:
        account = _with_store(settings, create)
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
    found = _with_store(_settings(database_url), lambda store: store.list_accounts())
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
        account = _with_store(_settings(database_url), top_up)
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

    account, ledger = _with_store(_settings(database_url), show)
    if account is None:
        click.echo(f"error: no account {login!r}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(_account_json(account, ledger_sum=_fmt(ledger))))
    else:
        click.echo(
            f"login:   {account.login}\nbalance: {_fmt(account.balance)} USD\nledger:  {_fmt(ledger)} USD"
        )


@main.group()
def index() -> None:
    """The local search index that gives web_search to models without their own (offline, SQLite FTS5)."""


index_option = click.option(
    "--index-path",
    envvar="LLM_RESPONSES_SEARCH_INDEX_PATH",
    default=None,
    help="the index file (default: ./llm-responses-index.db)",
)


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    help="URL of the files' root, e.g. https://example.com/docs (default: file:// URLs)",
)
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def index_add(paths: tuple[Path, ...], base_url: str | None, index_path: str | None, as_json: bool) -> None:
    """Add (or replace, by URL) text, Markdown and HTML files; directories are walked."""
    from llm_responses.search import documents
    from llm_responses.search.local_index import LocalIndex

    target = LocalIndex(index_path or Settings().search_index_path)
    docs = []
    for root in paths:
        for file in documents.collect([root]):
            url = documents.url_for(file, root if root.is_dir() else None, base_url)
            docs.append(documents.read_document(file, url))
    added, replaced = target.add(docs)
    total = target.count()
    if as_json:
        click.echo(
            json.dumps({"added": added, "replaced": replaced, "documents": total, "index": target.path})
        )
    else:
        click.echo(f"added {added}, replaced {replaced}; {total} documents in {target.path}")


@index.command("stats")
@index_option
def index_stats(index_path: str | None) -> None:
    """How many documents the index holds."""
    from llm_responses.search.local_index import LocalIndex

    target = LocalIndex(index_path or Settings().search_index_path)
    click.echo(f"{target.count()} documents in {target.path}")


if __name__ == "__main__":
    main()
