"""README.md's commands as a reader pastes them: every fenced ``bash`` and ``python`` block, in order, a
bash block split into whole commands (continuation lines, multi-line quotes and loops kept together, comment
lines dropped), and the placeholders a reader fills in (``<printed password>``, ``<id>``, ``password="..."``).

Nothing here knows which commands the README has: a command added to a block is found by the next run.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

RUN = ("bash", "python")
# what a reader replaces: <printed password>, <id>, <token> (lower-case words in angle brackets)
PLACEHOLDER = re.compile(r"<([a-z][a-z ]*)>")
# the official client's example leaves the password out as "..."
PYTHON_PASSWORD = 'password="..."'


@dataclass(frozen=True)
class Command:
    section: str  # the ``##`` heading it is under ("" above the first)
    line: int  # README.md's line of its first line (1-based)
    language: str  # "bash" or "python"
    text: str

    def where(self) -> str:
        return f"README.md:{self.line} ({self.section or 'top'})"


def commands(markdown: str) -> list[Command]:
    """Every command of the fenced bash and python blocks, in the order a reader meets them."""
    found: list[Command] = []
    for section, first, language, lines in _blocks(markdown):
        if language == "python":
            found.append(Command(section, first, language, "\n".join(lines)))
        else:
            found += [Command(section, first + offset, language, text) for offset, text in split_bash(lines)]
    return found


def _blocks(markdown: str) -> Iterator[tuple[str, int, str, list[str]]]:
    section, fence, language, first, body = "", None, "", 0, []
    for number, line in enumerate(markdown.splitlines(), 1):
        if fence is None:
            if line.startswith("## "):
                section = line[3:].strip()
            elif line.lstrip().startswith("```"):
                fence, language, first, body = line.lstrip()[:3], line.lstrip()[3:].strip(), number + 1, []
        elif line.strip() == fence:
            if language in RUN:
                yield section, first, language, body
            fence = None
        else:
            body.append(line)


def split_bash(lines: list[str]) -> Iterator[tuple[int, str]]:
    """A block's commands with each one's line offset: a command runs on while its last line ends in a
    backslash or bash finds it unfinished (an open quote, a loop without ``done``)."""
    pending: list[str] = []
    start = 0
    for offset, line in enumerate(lines):
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = offset
        pending.append(line)
        text = "\n".join(pending)
        if line.rstrip().endswith("\\") or _unfinished(text):
            continue
        yield start, text
        pending = []
    if pending:  # unfinished at the block's end: run as it is, bash's own error says what is wrong
        yield start, "\n".join(pending)


def _unfinished(text: str) -> bool:
    check = subprocess.run(
        ["bash", "-n"], input=PLACEHOLDER.sub("PLACEHOLDER", text), capture_output=True, text=True
    )
    return check.returncode != 0 and ("end of file" in check.stderr or "unexpected EOF" in check.stderr)


def fill(command: Command, values: Mapping[str, str | None], port: int) -> str:
    """The command as the reader runs it: placeholders filled, ``127.0.0.1:8000`` (``./dev run``'s address)
    the test server's. A placeholder without a value is a ``LookupError`` naming it."""
    text = re.sub(r"\b(127\.0\.0\.1|localhost):8000\b", f"127.0.0.1:{port}", command.text)
    if command.language == "python" and values.get("printed password"):
        text = text.replace(PYTHON_PASSWORD, f'password="{values["printed password"]}"')

    def value(match: re.Match[str]) -> str:
        filled = values.get(match.group(1))
        if filled is None:
            raise LookupError(f"{command.where()}: nothing to fill <{match.group(1)}> with")
        return filled

    return PLACEHOLDER.sub(value, text) if command.language == "bash" else text
