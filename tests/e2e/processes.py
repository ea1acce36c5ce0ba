"""Real ``llm-responses`` processes for end-to-end tests: start, wait until ready, kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

CLI = [sys.executable, "-m", "llm_responses.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.args, self.env, self.port = args, env, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        self.proc = subprocess.Popen(
            CLI + self.args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if self.port is not None and not healthy(self.url, self.proc):
            raise RuntimeError(f"{self.args} did not start: {self.proc.stderr.read().decode()[-2000:]}")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        close_pipes(self.proc)
        return code

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if that has not ended it within 20 s: no test leaves a process behind."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.kill(signal.SIGTERM, timeout=20)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


def healthy(url: str, proc: subprocess.Popen, seconds: float = 30) -> bool:
    """Whether ``url``'s /healthz answers 200 before ``proc`` exits and within ``seconds``."""
    deadline = time.time() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            return False
        time.sleep(0.1)


def close_pipes(proc: subprocess.Popen) -> None:
    """A finished process's pipes, closed (left open, each is a ResourceWarning, an error in this suite)."""
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(CLI + list(args), env=env, check=True, capture_output=True, text=True).stdout


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_RESPONSES_"))}
    env.update(extra)
    return env
