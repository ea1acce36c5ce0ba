"""One LLM answer as safe HTML for the dashboard's answer page: its Markdown rendered (raw HTML off, http(s)
links only, headings demoted under the page's own), the tracked brands highlighted as the mentions index
matches them, and each citation a numbered ``[n]`` link after the text it supports.

Everything is done on markdown-it's token stream, never by regex over HTML, and the result still goes
through nh3 (Ammonia) with an allowlist: the Markdown layer keeps the answer's syntax intact, the sanitizer
is what makes it safe to insert with Jinja's ``|safe``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from llm_responses.analysis.mentions import blank_urls
from llm_responses.wire.domains import domain_of

# Beyond this an answer is cut, so that a page stays bounded whatever an upstream sends (markdown-it-py
# has inputs that cost it quadratic time: "[" repeated takes seconds at 200 KB)
MAX_CHARS = 500_000
LINK_REL = "noreferrer noopener nofollow"

# A citation marker travels through the Markdown parser as its number between private-use characters:
# plain text to markdown-it, so it can never open or close any syntax, and replaced in text tokens. Its
# outer characters are U+FFFC (the object replacement character, a symbol), so that the emphasis next to
# it reads as it would next to the punctuation a marker usually follows ("*claim.*[1]", "_word_[1]").
_OPEN, _CLOSE = "\ufffc\ue000", "\ue001\ufffc"
_MARKER = re.compile(_OPEN + r"(\d+)" + _CLOSE)
_STRAY = re.compile("[\ue000\ue001]")  # the answer's own, dropped: a marker can only be one of ours
_VENDOR_MARKERS = re.compile(r"(?:\[\d{1,3}\])+")  # numbered citation markers an answer carries itself

# What a marker must not land inside: a link or image, inline (one level of parentheses in its URL, as in
# Wikipedia's) or by reference, or bracketed text that could be one; an autolink, a bare URL, a code span,
# an entity, a word, a run of emphasis delimiters or "#"s; a backslash escape, or a backslash line break
# (the one atom a marker goes before, not after).
_ATOM = re.compile(
    r"\\[!-/:-@\[-`{-~\n]"
    r"|!?\[[^\[\]\n]*\](?:\((?:[^()\s\[\]]|\([^()\s]*\))*+(?:\s++\"[^\"\n]*\")?\s*+\)|\[[^\[\]\n]*\])?"
    r"|<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*>"
    r"|(?:https?://|www\.)\S+"
    r"|`+[^`\n]*`+"
    r"|&#?\w{1,32};"
    r"|\w+"
    r"|[*_~#]+"
)
_BLANK = re.compile(r"\s+")
_LINE_END = re.compile(r"[ \t\r]*+(?:\n|\Z)")
_NEWLINE = re.compile(r"\n")
# Lines that are all syntax, whose meaning any text in them changes: a code fence, a thematic break or
# setext underline, a table's delimiter row, a link reference definition. (Possessive: no backtracking.)
_SYNTAX_LINE = re.compile(
    r" {0,3}(?:`{3,}|~{3,}|\[[^\]\n]++\]:)"
    r"|(?:(?: {0,3}[-*_][ \t]*+){3,}|=++[ \t]*+|-++[ \t]*+"
    r"|[ \t]*+\|?[ \t]*+:?-++:?[ \t]*+(?:\|[ \t]*+:?-++:?[ \t]*+)*+\|?[ \t]*+)(?:\n|\Z)"
)
# A line's block markers: indentation, blockquote ">", list bullets and numbers, an ATX heading's "#"s.
_BLOCK_PREFIX = re.compile(r"[ \t]*+(?:>[ \t]*+|(?:[-+*]|\d{1,9}[.)]|#{1,6})(?:[ \t]++|(?=\n|\Z)))*+")


@dataclass(frozen=True, slots=True)
class BrandMark:
    name: str
    terms: tuple[str, ...]  # the name and its aliases, as matched in the text
    own: bool  # the project's own brand
    competitor: bool
    position: int | None  # 1-based among tracked brands the answer names (from the index); None if not named


@dataclass(frozen=True, slots=True)
class Source:
    number: int  # 1-based, in order of first citation in the text
    url: str  # http(s) only; anything else becomes "#"
    title: str  # the annotation's title, else the url
    domain: str  # host without "www."


@dataclass(frozen=True, slots=True)
class RenderedAnswer:
    html: str  # sanitized HTML, safe to insert with Jinja's |safe
    sources: tuple[Source, ...]
    brands_found: tuple[str, ...]  # names of the BrandMarks actually highlighted, in first-occurrence order


_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def _http_url(url: str) -> bool:
    """An absolute http(s) URL with a host and nothing a browser would reinterpret (spaces, controls)."""
    if not url or _UNSAFE_IN_URL.search(url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    # links, images, autolinks and reference definitions all ask this: anything but http(s) stays text
    md.validateLink = _http_url  # type: ignore[method-assign]
    return md


_MD = _markdown()
_CLEANER = nh3.Cleaner(
    tags={"p", "br", "hr", "ul", "ol", "li", "strong", "em", "del", "code", "pre", "blockquote"}
    | {"h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a", "mark", "sup"},
    # nh3 manages ``rel`` itself when link_rel is set (it refuses "rel" in attributes): every <a> gets LINK_REL
    attributes={"a": {"href", "title"}, "mark": {"title"}},
    allowed_classes={"mark": {"brand", "own", "competitor"}, "sup": {"cite"}},
    link_rel=LINK_REL,
    url_schemes={"http", "https"},
    # relative and protocol-relative hrefs are dropped; "#" is what an unusable citation URL becomes
    url_relative=lambda url: url if url == "#" else None,
)


def _brand_pattern(brands: Sequence[Any]) -> tuple[re.Pattern[str] | None, dict[str, BrandMark]]:
    marks = tuple(b for b in brands if isinstance(b, BrandMark))
    try:
        return _cached_brand_pattern(marks)
    except TypeError:  # a BrandMark built with a list of terms is not hashable: not cached, still served
        return _build_brand_pattern(marks)


def _build_brand_pattern(
    brands: tuple[BrandMark, ...],
) -> tuple[re.Pattern[str] | None, dict[str, BrandMark]]:
    """One pattern for every term, built by the same rule as analysis/mentions.py's ``_matcher`` (private
    there, so not imported): case-insensitive, ``(?<!\\w)``/``(?!\\w)`` boundaries, longest term first so
    "Disneyland Paris" wins over "Disneyland"; a term two brands share belongs to the first."""
    owner: dict[str, BrandMark] = {}
    for b in brands:
        aliases = b.terms if isinstance(b.terms, tuple | list) else ()
        for t in (b.name, *aliases):
            if isinstance(t, str) and t.strip():
                owner.setdefault(t.casefold(), b)
    if not owner:
        return None, owner
    terms = sorted(owner, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)
    return pattern, owner


_cached_brand_pattern = lru_cache(maxsize=64)(_build_brand_pattern)  # a project's brands, page after page


def _offsets(a: Mapping[str, Any], length: int) -> tuple[int, int] | None:
    start, end = a.get("start_index"), a.get("end_index")
    if type(start) is not int or type(end) is not int:  # bool is an int; so is nothing else we accept
        return None
    return (start, end) if 0 <= start < end <= length else None


class _Spans:
    """Sorted, non-overlapping spans of the text: the one a position falls inside, by bisection."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        spans = [m.span() for m in pattern.finditer(text)]
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def around(self, pos: int) -> tuple[int, int] | None:
        """The span with ``start < pos <= end``, if any."""
        i = bisect_right(self.starts, pos - 1) - 1  # the last span starting before ``pos``
        return (self.starts[i], self.ends[i]) if i >= 0 and self.ends[i] >= pos else None


class _Placer:
    """Where a span ending at a given offset gets its marker, so that inserting it breaks no syntax.

    One pass over the text for its atoms, whitespace and lines, then per annotation a few bisections and a
    look at a window the length of the longest brand term: linear in the text, whatever the annotations."""

    def __init__(self, text: str, pattern: re.Pattern[str] | None, owner: Mapping[str, BrandMark]) -> None:
        self.text = text
        self.atoms = _Spans(_ATOM, text)
        self.blanks = _Spans(_BLANK, text)
        self.lines = [0, *(m.end() for m in _NEWLINE.finditer(text))]
        self.pattern = pattern
        self.reach = max(map(len, owner), default=0) + 1
        self.searchable = blank_urls(text) if pattern is not None else ""
        self.placed: dict[int, int | None] = {}
        self.syntax_lines: dict[int, tuple[int, bool]] = {}  # line start: (content start, all syntax)

    def __call__(self, start: int, end: int) -> int | None:
        """Before trailing whitespace (a marker never starts a line), after the link, URL, word, code span
        or brand name it would fall inside (so "Disneyland Paris" stays whole and highlighted), inside a
        table row's last cell, at the end of the line before when it would fall in a line's block markers
        ("- ", "> ", "## "); None in a line that any text would break (a code fence, a rule, a table's
        delimiter row, a reference definition)."""
        for _ in range(3):  # back over lines that are only block markers ("-" then "> "): a few at most
            blank = self.blanks.around(end)
            if blank is not None:
                end = blank[0]
            if end <= start:
                return None  # nothing but whitespace cited: nothing to put a marker after
            if end not in self.placed:
                self.placed[end] = self._place(end)
            placed = self.placed[end]
            if placed is None or placed >= 0:
                return placed
            end = -placed - 1  # the start of its line: what comes before it
        return None

    def _place(self, end: int) -> int | None:
        """The marker's offset; None for none; ``-(line start) - 1`` when it falls in the block markers."""
        text = self.text
        for _ in range(3):  # an atom's end inside a name, that name's end inside an atom: settles at once
            moved = self._past_name(self._past_atom(end))
            if moved == end:
                break
            end = moved
        if text[end - 1 : end + 1] == "\\\n":
            end -= 1  # before a backslash line break, wherever an atom (a bare URL) left it
        start = self.lines[bisect_right(self.lines, end) - 1]
        if start not in self.syntax_lines:
            prefix = _BLOCK_PREFIX.match(text, start)  # always matches, if only ""
            content = prefix.end() if prefix else start
            self.syntax_lines[start] = (content, _SYNTAX_LINE.match(text, content) is not None)
        content, syntax = self.syntax_lines[start]
        if syntax:
            return None
        if start < content and end <= content:
            return -start - 1
        if not _LINE_END.match(text, end):
            return end  # mid-line: inline text, whatever the block
        if "#" in text[start:content]:
            # an ATX heading: the marker goes before its closing "#"s, which text after them makes content
            tail = text[content:end]
            kept = tail.rstrip("#")
            if kept != tail and (not kept or kept[-1] in " \t"):
                return content + len(kept.rstrip(" \t"))
        if text[end - 1 : end] == "|":  # a table row's closing pipe: text after it is no cell at all
            end -= 1
            blank = self.blanks.around(end)
            if blank is not None and blank[0] > start:
                end = blank[0]
        return end

    def _past_atom(self, pos: int) -> int:
        atom = self.atoms.around(pos)
        if atom is None:
            return pos
        return atom[0] if self.text[atom[1] - 1] == "\n" else atom[1]

    def _past_name(self, pos: int) -> int:
        if self.pattern is None:
            return pos
        window = self.pattern.finditer(self.searchable, max(0, pos - self.reach), pos + self.reach)
        return next((m.end() for m in window if m.start() < pos < m.end()), pos)


def _sources(
    text: str, annotations: Sequence[Any], pattern: re.Pattern[str] | None, owner: Mapping[str, BrandMark]
) -> tuple[tuple[Source, ...], dict[int, list[int]]]:
    """Sources numbered by where their first marker sits (positioned ones first, then those without usable
    offsets in the order given), one per distinct URL; and the marker numbers at each position."""
    place = _Placer(text, pattern, owner) if annotations else None
    cited: list[tuple[int, int, int, str, str]] = []  # (marker position, start, order, url, title)
    unplaced: list[tuple[str, str]] = []
    for order, a in enumerate(annotations):
        if not isinstance(a, Mapping):
            continue
        url = a.get("url")
        if not isinstance(url, str) or not url.strip():
            continue
        url = url.strip()
        title = a.get("title")
        title = title.strip() if isinstance(title, str) else ""
        span = _offsets(a, len(text))
        if span is None:
            unplaced.append((url, title))
        else:
            pos = place(*span) if place is not None else None
            if pos is None:
                unplaced.append((url, title))  # listed, numbered after the placed ones, with no marker
            else:
                cited.append((pos, span[0], order, url, title))
    cited.sort()

    numbers: dict[str, int] = {}
    titles: dict[str, str] = {}
    at: dict[int, list[int]] = {}
    for pos, _, _, url, title in cited:
        n = numbers.setdefault(url, len(numbers) + 1)
        if title:
            titles.setdefault(url, title)
        markers = at.setdefault(pos, [])
        if n not in markers:
            markers.append(n)
    for url, title in unplaced:
        numbers.setdefault(url, len(numbers) + 1)
        if title:
            titles.setdefault(url, title)
    sources = tuple(
        Source(
            number=n,
            url=url if _http_url(url) else "#",
            title=titles.get(url) or url,
            domain=domain_of(url) if _http_url(url) else "",
        )
        for url, n in numbers.items()
    )
    for markers in at.values():
        markers.sort()
    return sources, at


def _with_markers(text: str, at: dict[int, list[int]]) -> str:
    """The text with our markers inserted; sentinels it already held are dropped piece by piece, after the
    positions were taken, so the annotations' offsets stay those of the original text."""
    out: list[str] = []
    last = 0
    positions = sorted(at)
    for i, pos in enumerate(positions):
        if pos < last:
            continue  # inside the vendor's own markers just replaced
        out.append(_STRAY.sub("", text[last:pos]))
        out.extend(f"{_OPEN}{n}{_CLOSE}" for n in at[pos])
        last = pos
        # the vendor's own "[1][2]" right after the span (Perplexity writes them): ours stand in their place
        own = _VENDOR_MARKERS.match(text, pos)
        if own is not None:
            following = positions[i + 1] if i + 1 < len(positions) else len(text)
            last = min(own.end(), max(following, pos))
    out.append(_STRAY.sub("", text[last:]))
    return "".join(out)


def _html(content: str) -> Token:
    return Token("html_inline", "", 0, content=content)


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


class _Inline:
    """Rewrites one answer's inline tokens: markers into links, brand terms into ``<mark>``."""

    def __init__(
        self, pattern: re.Pattern[str] | None, owner: dict[str, BrandMark], sources: tuple[Source, ...]
    ) -> None:
        self.pattern, self.owner = pattern, owner
        self.sources = {s.number: s for s in sources}
        self.found: dict[str, None] = {}
        self.last_marker: int | None = None  # collapses [1][1] with nothing between into one

    def children(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        depth = 0  # inside a link: no nested <a> for a marker
        for t in tokens:
            if t.type == "image":
                # an image would load from the answer's URL: shown as a link with its alt text instead
                alt = self.children(list(t.children or []))
                if depth:
                    out.extend(alt)
                else:
                    attrs = {
                        k: v for k, v in (("href", t.attrs.get("src")), ("title", t.attrs.get("title"))) if v
                    }
                    out.extend((Token("link_open", "a", 1, attrs=attrs), *alt, Token("link_close", "a", -1)))
                self.last_marker = None
                continue
            if t.type in ("s_open", "s_close"):
                t.tag = "del"  # markdown-it writes <s>; a struck-out claim is a deletion
            elif t.type == "link_open":
                depth += 1
            elif t.type == "link_close":
                depth = max(0, depth - 1)
            if t.type == "text":
                out.extend(self.text(t, depth > 0))
                continue
            if t.content:
                t.content = _unmarked(t.content)
                if t.content.strip():
                    self.last_marker = None
            out.append(t)
        return out

    def text(self, t: Token, in_link: bool) -> list[Token]:
        content = t.content
        if _OPEN not in content:
            return self.brands(content) or [t]  # the common case: the token as it was
        out: list[Token] = []
        last = 0
        for m in _MARKER.finditer(content):
            out.extend(self.brands(content[last : m.start()]) or [_text(content[last : m.start()])])
            last = m.end()
            n = int(m.group(1))
            source = self.sources.get(n)
            if source is None or in_link or self.last_marker == n:
                continue
            self.last_marker = n
            url, title = escape(source.url), escape(source.title)
            out.append(
                _html(f'<sup class="cite"><a href="{url}" title="{title}" rel="{LINK_REL}">[{n}]</a></sup>')
            )
        rest = content[last:]
        out.extend(self.brands(rest) or [_text(rest)])
        return [token for token in out if token.type != "text" or token.content]

    def brands(self, content: str) -> list[Token] | None:
        """The content with the brand terms marked, or None when it names none."""
        if content.strip():
            self.last_marker = None
        if self.pattern is None or not content:
            return None
        out: list[Token] = []
        last = 0
        # the index's own rule: bare URLs and Markdown link targets blanked, offsets unchanged
        for m in self.pattern.finditer(blank_urls(content)):
            brand = self.owner.get(m.group().casefold())
            if brand is None:
                continue
            if m.start() > last:
                out.append(_text(content[last : m.start()]))
            last = m.end()
            kind = "brand own" if brand.own else "brand competitor" if brand.competitor else "brand"
            name = str(brand.name)
            title = escape(name if brand.position is None else f"{name} · position {brand.position}")
            out.append(
                _html(f'<mark class="{kind}" title="{title}">{escape(content[m.start() : last])}</mark>')
            )
            self.found.setdefault(name)
        if not out:
            return None
        if last < len(content):
            out.append(_text(content[last:]))
        return out


def _unmarked(content: str) -> str:
    """Content where a marker cannot be shown (code, an attribute): without it."""
    return _STRAY.sub("", _MARKER.sub("", content)) if "\ufffc" in content else content


def render_answer(
    text: str, annotations: Sequence[Mapping[str, Any]], brands: Sequence[BrandMark]
) -> RenderedAnswer:
    """The answer as sanitized HTML with its sources and the brands highlighted. Never raises on odd input
    (offsets out of range, non-dict annotations, a missing title); the work beyond markdown-it's own parse
    is linear in the text, whatever the number of annotations."""
    text = text if isinstance(text, str) else ""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + "…"
    annotations = (
        annotations if isinstance(annotations, Sequence) and not isinstance(annotations, str) else ()
    )
    brands = brands if isinstance(brands, Sequence) and not isinstance(brands, str) else ()
    pattern, owner = _brand_pattern(brands)
    sources, at = _sources(text, annotations, pattern, owner)
    source_text = _with_markers(text, at)

    env: dict[str, Any] = {}
    tokens = _MD.parse(source_text, env)
    inline = _Inline(pattern, owner, sources)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(int(t.tag[1:]) + 2, 6)}"  # the answer sits under the page's own h1 and h2
        elif t.type == "inline":
            t.children = inline.children(list(t.children or []))
        elif t.content:
            t.content = _unmarked(t.content)
        t.info = _unmarked(t.info)
    html = _MD.renderer.render(tokens, _MD.options, env)
    return RenderedAnswer(html=_CLEANER.clean(html), sources=sources, brands_found=tuple(inline.found))
