"""Citations: every annotation's offsets point at exactly the link inserted for it; no source, no citation."""

import re

from hypothesis import given
from hypothesis import strategies as st

from llm_responses.core import SearchHit
from llm_responses.search.grounding import apply_citations, grounded_prompt, link_label
from llm_responses.search.planner import MAX_QUERIES, parse_model_queries, rule_queries

HITS = [
    SearchHit("Parc Astérix – Wikipédia", "https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix", "Parc…"),
    SearchHit("Notes", "file:///srv/kb/notes.md", "notes"),
    SearchHit("", "https://www.example.com/a?b=1&c=(2)", "x"),
]

# any text but "[" (which would make markers of its own), non-ASCII included
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="["), max_size=40)
markers = st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=3).map(
    lambda ns: "[" + ", ".join(map(str, ns)) + "]"
)


@given(st.lists(st.tuples(texts, markers), max_size=6), texts)
def test_every_annotation_points_at_its_own_link(pieces, tail):
    text = "".join(t + m for t, m in pieces) + tail
    part = apply_citations(text, HITS)
    wanted = [n for _, m in pieces for n in map(int, re.findall(r"\d+", m)) if 1 <= n <= len(HITS)]
    assert [c.url for c in part.citations] == [HITS[n - 1].url for n in wanted]
    for c in part.citations:
        hit = next(h for h in HITS if h.url == c.url)
        assert part.text[c.start_index : c.end_index] == f"([{link_label(hit)}]({hit.url}))"
        assert c.title == hit.title
    # offsets are code points (Python str indices) and spans never overlap
    spans = [(c.start_index, c.end_index) for c in part.citations]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_markers_become_chatgpt_style_links_and_unknown_sources_vanish():
    part = apply_citations("Disneyland is big [1]. Bread [9]. Both [1, 2].", HITS)
    assert part.text == (
        "Disneyland is big ([fr.wikipedia.org](https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix)). "
        "Bread. Both ([fr.wikipedia.org](https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix)) "
        "([Notes](file:///srv/kb/notes.md))."
    )
    assert len(part.citations) == 3
    assert apply_citations("no markers, [a] or [x1]", HITS).citations == ()
    assert link_label(HITS[2]) == "example.com"


def test_the_prompt_numbers_the_sources_and_ends_with_the_question():
    prompt = grounded_prompt("How big is it?", HITS[:2])
    assert "[1] Parc Astérix – Wikipédia (https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix)\nParc…" in prompt
    assert "[2] Notes (file:///srv/kb/notes.md)" in prompt
    assert prompt.endswith("Question: How big is it?")


@given(st.text(max_size=500))
def test_rule_planning_gives_at_most_three_short_queries(prompt):
    queries = rule_queries(prompt)
    assert len(queries) <= MAX_QUERIES
    assert all(q and len(q) <= 120 and q == q.strip() for q in queries)
    assert len({q.lower() for q in queries}) == len(queries)


def test_rule_planning_keeps_content_words_per_question():
    assert rule_queries(
        "provide information on how relevant the amusement park business is in France now"
    ) == ["relevant amusement park business France"]
    assert rule_queries("Who won the 2022 World Cup? And who scored in the final?") == [
        "won 2022 World Cup scored final",
        "won 2022 World Cup",
        "scored final",
    ]


def test_model_written_queries_are_cleaned():
    answer = '1. "amusement parks France 2025"\n- Disneyland Paris visitors\n\nQuery 3: parc asterix revenue\n4. extra'
    assert parse_model_queries(answer) == [
        "amusement parks France 2025",
        "Disneyland Paris visitors",
        "parc asterix revenue",
    ]
