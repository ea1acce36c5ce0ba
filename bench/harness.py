"""Shared benchmark plumbing: real processes on loopback, percentiles, a results table."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

from llm_responses.store.postgres_database import dsn_of  # noqa: E402
from llm_responses.store.sqlite_database import sqlite_path  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.2f} ms, p99 {pct(values, 99) * 1000:.2f} ms (n={len(values)})"


def wait_until_up(proc: subprocess.Popen, url: str, within: float = 30.0) -> None:
    """Until ``url`` answers 200; fails early when the process has already exited."""
    deadline = time.time() + within
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"{proc.args} did not start")
        time.sleep(0.1)


class FakeUpstream:
    """The fake OpenAI server as its own process, so it does not share a GIL with the load generator."""

    def __init__(self, latency: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.fakes.serve", "openai", str(latency)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Service:
    """``llm-responses serve`` on a fresh SQLite file, with one funded account."""

    def __init__(self, upstream: str | None, *extra: str, **env: str) -> None:
        """``upstream``: the fake OpenAI's base URL, or None for no OpenAI at all (the embedded model)."""
        self.dir = tempfile.mkdtemp(prefix="llmr-bench-")
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        openai = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": upstream} if upstream else {}
        self.env = {
            **base,
            "LLM_RESPONSES_DATABASE_URL": f"sqlite:///{self.dir}/bench.db",
            **openai,
            "LLM_RESPONSES_RATE_LIMIT_PER_MINUTE": "100000000",
            "LLM_RESPONSES_LIVE_MAX_CONCURRENT": "1000",
            "LLM_RESPONSES_ACCESS_LOG": "false",
            **env,
        }  # a log line per request is not what is measured
        cli = [PY, "-m", "llm_responses.cli"]
        self.auth = self.create_account("bench", "1000000")
        self.proc = subprocess.Popen(
            cli + ["serve", "--port", str(self.port), *extra], env=self.env, cwd=ROOT
        )
        wait_until_up(self.proc, f"{self.url}/healthz")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_account(self, login: str, balance: str) -> tuple[str, str]:
        """(login, password) of a new account with ``balance`` USD, made with the CLI."""
        created = subprocess.run(
            [PY, "-m", "llm_responses.cli", "accounts", "create", login, "--balance", balance, "--json"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        creds = json.loads(created.stdout)
        return creds["login"], creds["password"]

    def peak_rss_mb(self) -> float:
        """The server process's high-water resident memory (Linux ``VmHWM``)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def analyze(url: str) -> None:
    """Fresh planner statistics after a bulk fill (ANALYZE on SQLite, VACUUM ANALYZE on PostgreSQL)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        conn.execute("ANALYZE")
        conn.close()
        return
    conn = await asyncpg.connect(dsn_of(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
