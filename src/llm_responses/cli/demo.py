"""``serve --demo``: a demo account kept across starts, and the curl printed to try it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llm_responses.accounts.credentials import new_password, new_token
from llm_responses.billing.money import to_nanos
from llm_responses.composition import make_hasher
from llm_responses.config import Settings
from llm_responses.private_files import write_private
from llm_responses.store import Store


def _demo_file(settings: Settings) -> Path:
    """Where the demo account's credentials are kept (0600), so every start prints the same ones."""
    if settings.database_url.startswith("sqlite:///"):
        return Path(settings.database_url[len("sqlite:///") :] + ".demo.json")
    return Path("llm-responses.demo.json")


async def demo_account(store: Store, settings: Settings) -> tuple[str, str, str]:
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
    write_private(path, json.dumps({"login": "demo", "password": password, "token": token}))
    return "demo", password, token


def demo_model(settings: Settings) -> str:
    """The model the printed curl uses: OpenAI's when configured, else the embedded model's own name."""
    if settings.openai_api_key or settings.openai_base_url:
        return "gpt-4.1-mini"
    return embedded_model_name(settings) or "gpt-4.1-mini"


def embedded_model_name(settings: Settings) -> str | None:
    """The embedded model's name as the catalog lists it; None when it is off or not installed."""
    from llm_responses.vendors.local import served_name

    return served_name(settings)


def print_demo(settings: Settings, login: str, password: str, token: str) -> None:
    base = f"http://{settings.host}:{settings.port}"
    model = demo_model(settings)
    click.echo(
        f"""
Demo account: login {login}  password {password}  token {token}
Try it (DataForSEO's own live example, answered by {model}):

curl -s -u {login}:{password} -H 'Content-Type: application/json' \\
  {base}/v3/ai_optimization/chat_gpt/llm_responses/live \\
  --data-raw '[{{"system_message": "communicate as if we are in a business meeting", "model_name": "{model}", "user_prompt": "provide information on how relevant the amusement park business is in France now"}}]'

Models: curl -s -H 'Authorization: Bearer {token}' {base}/v3/ai_optimization/chat_gpt/llm_responses/models
""",
        err=False,
    )
