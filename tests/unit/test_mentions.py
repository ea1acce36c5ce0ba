"""Brand mentions in one answer, and the metrics over many: each rule on a case built to break it."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from llm_responses.analysis.mentions import Entity, blank_urls, find
from llm_responses.analysis.metrics import BrandCounts, GroupCounts, metric_rows

DISNEY = Entity("Disneyland Paris", ("Disneyland",), ("disneylandparis.com",))
ASTERIX = Entity("Parc Astérix", ("Asterix",), ("parcasterix.fr",), competitor=True)
APPLE = Entity("Apple", (), ("apple.com",))


def hits(text: str, urls: list[str] | None = None, entities=(DISNEY, ASTERIX)):
    return {h.entity: h for h in find(text, urls or [], list(entities))}


def test_word_boundaries_and_case():
    assert not hits("Pineapple juice", entities=[APPLE])["Apple"].mentioned
    assert hits("an APPLE a day", entities=[APPLE])["Apple"].mentioned
    assert hits("Apple's stores", entities=[APPLE])["Apple"].mentioned


def test_urls_are_not_mentions_and_offsets_are_the_original_texts():
    text = "See https://www.disneylandparis.com/fr and [link](https://disneyland.example/x) then Disneyland."
    assert blank_urls(text).index("Disneyland.") == text.index("Disneyland.")
    h = hits(text)["Disneyland Paris"]
    assert [text[s:e] for s, e in h.offsets] == ["Disneyland"]


def test_an_alias_inside_the_name_counts_once_and_positions_follow_first_mentions():
    h = hits("Parc Astérix beats Disneyland Paris; Disneyland Paris is bigger.")
    assert h["Parc Astérix"].position == 1 and h["Disneyland Paris"].position == 2
    assert [e - s for s, e in h["Disneyland Paris"].offsets] == [
        16,
        16,
    ]  # the full name, not also "Disneyland"
    assert hits("nothing here")["Parc Astérix"].position is None


def test_cited_and_mentioned_are_apart_and_subdomains_count():
    h = hits("A great park.", ["https://tickets.disneylandparis.com/x", "https://example.com"])
    assert h["Disneyland Paris"].cited and not h["Disneyland Paris"].mentioned
    assert not hits("x", ["https://notdisneylandparis.com"])["Disneyland Paris"].cited


def test_a_negation_before_the_first_mention_is_flagged_not_dropped():
    h = hits("You should avoid Parc Astérix in August; Disneyland is fine.")
    assert h["Parc Astérix"].negated and h["Parc Astérix"].mentioned
    assert not h["Disneyland Paris"].negated
    assert hits("It isn't Disneyland")["Disneyland Paris"].negated


WORDS = st.sampled_from(["the", "park", "é", "Disneyland", "disneyland", "Disneylandia", "x.com", "—", "\n"])


@given(st.lists(WORDS, max_size=30))
def test_every_offset_spans_a_whole_word_match_of_a_term(words):
    text = " ".join(words)
    h = hits(text)["Disneyland Paris"]
    for start, end in h.offsets:
        assert text[start:end].lower() in ("disneyland", "disneyland paris")
        assert not (start and re.match(r"\w", text[start - 1])) and not re.match(r"\w", text[end : end + 1])
    assert len(h.offsets) == sum(1 for w in words if w.lower() == "disneyland")


def test_metrics_follow_the_written_formulas():
    # chat_gpt: 3 answers, 2 citing anything; "Disneyland Paris, then Parc Astérix." citing disneylandparis.com,
    # "Parc Astérix only." citing parcasterix.fr twice, "Neither park."; claude: "Disneyland."
    groups = {
        ("chat_gpt",): GroupCounts(3, 2, {
            "Disneyland Paris": BrandCounts(mentions=1, citations=1, positions=1, position_sum=1),
            "Parc Astérix": BrandCounts(competitor=True, mentions=2, citations=1, positions=2, position_sum=3),
        }),
        ("claude",): GroupCounts(1, 0, {"Disneyland Paris": BrandCounts(mentions=1, positions=1, position_sum=1)}),
    }  # fmt: skip
    rows = {(r["engine"], r["entity"]): r for r in metric_rows(("engine",), groups)}
    disney, asterix = rows["chat_gpt", "Disneyland Paris"], rows["chat_gpt", "Parc Astérix"]
    assert (disney["answers"], disney["mentions"], disney["visibility"]) == (3, 1, 0.3333)
    assert (disney["share_of_voice"], asterix["share_of_voice"]) == (0.3333, 0.6667)  # 1 of 3, 2 of 3
    # of the 2 answers citing anything (several URLs of one domain count once)
    assert (disney["citation_share"], asterix["citation_share"]) == (0.5, 0.5)
    assert (disney["average_position"], asterix["average_position"]) == (1.0, 1.5)
    assert rows["claude", "Disneyland Paris"]["visibility"] == 1.0
    assert rows["claude", "Disneyland Paris"]["citation_share"] == 0.0  # nothing cited: no division by zero
    assert asterix["competitor"] is True
    assert [r["engine"] for r in metric_rows(("engine",), groups)] == ["chat_gpt", "chat_gpt", "claude"]
