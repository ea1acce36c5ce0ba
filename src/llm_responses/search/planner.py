"""Query planning: a prompt → the 1–3 web search queries that become the task's ``fan_out_queries``.

``rule_queries`` is deterministic and needs no model (the right choice for a tiny one): the prompt's
content words, in order, for the whole prompt and for each further question or sentence in it.
``parse_model_queries`` reads the answer of a model asked to write the queries itself.
"""

from __future__ import annotations

import re

MAX_QUERIES = 3
MAX_QUERY_WORDS = 10
MAX_QUERY_CHARS = 120

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just let me more most my myself no nor not now
    of off on once only or other our ours ourselves out over own please provide same she should so some such tell
    than that the their theirs them themselves then there these they this those through to too under until up us
    very was we were what when where which while who whom why will with would you your yours yourself yourselves
    give show explain describe information info know want need like get""".split()
)

_SENTENCE = re.compile(r"(?<=[.?!;])\s+")
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


def keywords(text: str) -> list[str]:
    words = [w.strip("'’-") for w in _WORD.findall(text)]
    return [w for w in words if w and w.lower() not in STOPWORDS]


def rule_queries(prompt: str) -> list[str]:
    """Keywords of the whole prompt first, then of each further sentence that has enough words of its own."""
    queries: list[str] = []
    candidates = [prompt] + [s for s in _SENTENCE.split(prompt.strip()) if s]
    for text in candidates:
        words = keywords(text)[:MAX_QUERY_WORDS]
        query = " ".join(words)[:MAX_QUERY_CHARS].strip()
        if len(words) >= 2 or (words and not queries):
            if query and query.lower() not in (q.lower() for q in queries):
                queries.append(query)
        if len(queries) == MAX_QUERIES:
            break
    return queries


def planning_prompt(prompt: str) -> str:
    return (
        "Write up to 3 short web search queries that would find the facts needed to answer the question below. "
        "One query per line, nothing else.\n\nQuestion: " + prompt
    )


def parse_model_queries(answer: str) -> list[str]:
    """Lines of the model's answer, stripped of numbering, bullets and quotes; at most three."""
    queries: list[str] = []
    for line in answer.splitlines():
        query = (
            re.sub(r"^\s*(?:[-*•]|\d+[.)]|query\s*\d*:)\s*", "", line, flags=re.IGNORECASE)
            .strip()
            .strip("\"'`")
        )
        if query and len(query) <= MAX_QUERY_CHARS and query.lower() not in (q.lower() for q in queries):
            queries.append(query)
        if len(queries) == MAX_QUERIES:
            break
    return queries
