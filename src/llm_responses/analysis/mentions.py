"""Finding tracked brands and competitors in one answer: word-boundary matches of a name or an alias in the
answer's text with URLs blanked out (so ``brand.com/path`` in a link is not a mention, and offsets stay
those of the original text), the 1-based position of each entity among the tracked ones it names (by first
mention, as Ansvisor ranks them), whether the answer *cites* the entity's domains (an annotation's URL on
the domain or a subdomain) apart from whether it names it, and a negation just before the first mention
("not", "avoid", "instead of" ...) flagged for review, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from llm_responses.config_tables import BrandConfig
from llm_responses.wire.domains import domain_of, normalize_domain

_URL = re.compile(r"(?:https?://|www\.)\S+|\]\([^)]*\)")  # bare links and Markdown link targets
NEGATIONS = ("not", "no", "never", "avoid", "without", "instead of", "rather than", "unlike", "except", "n't")
NEGATION_WINDOW = 4  # words before the first mention


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    competitor: bool = False
    category: str | None = None

    @property
    def category_name(self) -> str:
        """``brand_entities.category`` in LLM Mentions answers: the configured one, else brand/competitor."""
        return self.category or ("competitor" if self.competitor else "brand")

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for t in (self.name, *self.aliases) if t.strip()))


@dataclass(frozen=True, slots=True)
class Hit:
    entity: str
    competitor: bool
    mentioned: bool
    cited: bool
    position: int | None  # 1-based among the tracked entities the answer names; None when not named
    offsets: tuple[tuple[int, int], ...]  # every mention's span in the original text
    negated: bool  # a negation just before the first mention: for a person to look at


def blank_urls(text: str) -> str:
    """The text with every URL replaced by spaces of the same length: offsets unchanged."""
    return _URL.sub(lambda m: " " * len(m.group()), text)


@cache
def _matcher(entities: tuple[Entity, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every term of every entity (longest first, so "Disneyland Paris" wins over
    "Disneyland" where both start), and which entity each term belongs to: one scan of the text."""
    owner: dict[str, str] = {}
    for e in entities:
        for t in e.terms:
            owner.setdefault(t.casefold(), e.name)
    terms = sorted(owner, key=len, reverse=True)
    # a word boundary that also works for names starting or ending with non-word characters (".NET", "C++")
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)
    return pattern, owner


def _on_domain(hosts: set[str], domains: tuple[str, ...]) -> bool:
    for raw in domains:
        d = normalize_domain(raw)
        if d and any(host == d or host.endswith("." + d) for host in hosts):
            return True
    return False


def _negated(text: str, start: int) -> bool:
    # the few words before the mention: a short window, never the whole text before it
    before = re.findall(r"[\w']+", text[max(0, start - 16 * NEGATION_WINDOW) : start].lower())[
        -NEGATION_WINDOW:
    ]
    joined = " " + " ".join(before) + " "
    return any(f" {n} " in joined or (n == "n't" and "n't " in joined) for n in NEGATIONS)


def find(text: str, cited_urls: list[str], entities: list[Entity]) -> list[Hit]:
    """One ``Hit`` per tracked entity, in the order given."""
    searchable = blank_urls(text)
    spans: dict[str, list[tuple[int, int]]] = {e.name: [] for e in entities}
    if any(e.terms for e in entities):
        pattern, owner = _matcher(tuple(entities))
        for m in pattern.finditer(searchable):
            name = owner.get(m.group().casefold())
            if name is not None:
                spans[name].append(m.span())
    hosts = {domain_of(u) for u in cited_urls}
    order = sorted((s[0][0], e.name) for e in entities if (s := spans[e.name]))
    position = {name: i for i, (_, name) in enumerate(order, 1)}
    return [
        Hit(
            entity=e.name,
            competitor=e.competitor,
            mentioned=bool(spans[e.name]),
            cited=_on_domain(hosts, e.domains),
            position=position.get(e.name),
            offsets=tuple(spans[e.name]),
            negated=bool(spans[e.name]) and _negated(searchable, spans[e.name][0][0]),
        )
        for e in entities
    ]


def entities_of(brands: list[BrandConfig]) -> list[Entity]:
    """The configuration's ``[[brands]]`` as the entities ``find`` looks for."""
    return [Entity(b.name, tuple(b.aliases), tuple(b.domains), b.competitor, b.category) for b in brands]
