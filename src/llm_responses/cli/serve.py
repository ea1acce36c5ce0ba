"""``serve``, ``worker`` and ``migrate``: the processes, and the logging they share."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable

import click

from llm_responses.api.routes import ApiContext
from llm_responses.app import create_app
from llm_responses.cli.demo import demo_account, embedded_model_name, print_demo
from llm_responses.cli.demo_data import demo_settings_brands, seed
from llm_responses.cli.group import database_option, main, settings_from, with_store
from llm_responses.config import Settings
from llm_responses.heap import freeze_startup_heap
from llm_responses.observability import logs


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
@database_option
@click.option("--no-worker", is_flag=True, help="Serve the API only; run workers elsewhere.")
@click.option(
    "--demo", is_flag=True, help="Create a 'demo' account (kept across starts) and print a curl to try."
)
@click.option("--demo-days", default=7, show_default=True, type=click.IntRange(0, 28),
              help="with --demo: past days of the demo project answered in the background on first start")  # fmt: skip
def serve(
    host: str | None, port: int | None, database_url: str | None, no_worker: bool, demo: bool, demo_days: int
) -> None:
    """Run the API server and, unless --no-worker, the task worker in the same process."""
    import uvicorn

    from llm_responses.composition import server_config

    settings = settings_from(database_url, host=host, port=port, worker_enabled=False if no_worker else None)
    _configure_logging(settings)
    # the port first: a busy one fails here, before the database (or the demo account) is touched
    try:
        sock = _listen(settings.host, settings.port)
    except OSError as exc:
        click.echo(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", err=True
        )
        sys.exit(1)
    on_started = None
    if demo:
        settings = settings.updated({"brands": demo_settings_brands(settings.brands)})
        login, password, token = with_store(settings, lambda store: demo_account(store, settings))
        print_demo(settings, login, password, token)
        embedded = embedded_model_name(settings)
        if embedded:

            async def on_started(api: ApiContext) -> None:
                await seed(api, login=login, days=demo_days, model=embedded)

    app = create_app(settings, on_started=on_started)
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

    settings = settings_from(database_url, worker_concurrency=concurrency)
    _configure_logging(settings)
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


def _configure_logging(settings: Settings) -> None:
    """Our own lines at the settings' level and in its format, every one with the configured secrets and
    anything shaped like a key redacted (``observability/logs.py``)."""
    logs.configure(settings.log_level, settings.log_format, settings.secrets())


@main.command("worker-alive")
@database_option
def worker_alive(database_url: str | None) -> None:
    """Exit 0 when a worker on this host has a fresh heartbeat, else 1: a worker container's health check.

    The heartbeat is the one readiness counts (the database's ``meta``), so a worker whose loop hangs stops
    being healthy even though its process is still there."""
    from llm_responses.composition import heartbeat_window

    settings = settings_from(database_url)
    beats = with_store(settings, lambda store: store.worker_heartbeats())
    since = time.time() - heartbeat_window(settings)
    host = socket.gethostname() + ":"  # an owner is host:pid:random (composition.process_owner)
    fresh = [owner for owner, at in beats.items() if owner.startswith(host) and at >= since]
    click.echo(f"{len(fresh)} worker(s) on this host with a fresh heartbeat")
    sys.exit(0 if fresh else 1)


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Bring the database schema up to date (serve does this too)."""
    settings = settings_from(database_url)
    with_store(settings, lambda store: asyncio.sleep(0))
    click.echo("database is up to date")
