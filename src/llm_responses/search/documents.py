"""Files → indexable documents (title, url, plain text) for the local index: text, Markdown and HTML.

HTML is reduced to its visible text with the standard library's parser (scripts, styles and the head's
other contents dropped); its ``<title>``, or else the first ``<h1>``, is the title. Markdown's first ``#``
heading is its title. Anything else takes its file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES


@dataclass(frozen=True, slots=True)
class Document:
    url: str
    title: str
    text: str


def collect(paths: list[Path]) -> list[Path]:
    """The supported files among ``paths``, walking directories, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    return found


def url_for(path: Path, root: Path | None, base_url: str | None) -> str:
    """``base_url`` + the path relative to ``root`` when a base URL is given, else a ``file://`` URI."""
    if base_url:
        relative = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
        return base_url.rstrip("/") + "/" + relative.as_posix()
    return path.resolve().as_uri()


def read_document(path: Path, url: str) -> Document:
    raw = path.read_text("utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        title, text = html_to_text(raw)
    elif suffix in MARKDOWN_SUFFIXES:
        title, text = markdown_title(raw), raw
    else:
        title, text = "", raw
    return Document(
        url=url, title=title or path.stem.replace("_", " ").replace("-", " "), text=_squeeze(text)
    )


def markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg"}
    BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1 = ""
        self.parts: list[str] = []
        self._stack: list[str] = []
        self._h1_done = False  # only the first <h1> can stand in for a missing <title>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append(tag)
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1" and self.h1:
            self._h1_done = True
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if any(t in self.SKIP for t in self._stack):
            return
        if "title" in self._stack:
            self.title += data
            return
        if "head" in self._stack:
            return
        if "h1" in self._stack and not self._h1_done:
            self.h1 += data
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    title = _squeeze(parser.title) or _squeeze(parser.h1)
    return title, "".join(parser.parts)


def _squeeze(text: str) -> str:
    """Runs of spaces to one, runs of blank lines to one blank line."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
