"""Every engine's annotations point at the text they cite, whatever the text: property tests over the
pure parsers, with non-ASCII text (Gemini's offsets are UTF-8 bytes; ours are code points)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm_responses.vendors.anthropic import parse_messages
from llm_responses.vendors.google import parse_response
from llm_responses.vendors.perplexity import cited_spans

# letters and punctuation from several scripts, emoji (4 UTF-8 bytes, outside the BMP) and spaces
CHARS = st.sampled_from(list("abcXYZ éèà€—ßñ中文日本😀🚀 .,!?\n"))
RUN = st.text(CHARS, min_size=1, max_size=40)


@given(st.lists(st.tuples(RUN, st.booleans(), st.booleans()), min_size=1, max_size=8))
def test_claude_citations_span_the_runs_that_cite(runs):
    content = []
    for text, cited, search_before in runs:
        if search_before:
            content.append(
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
            )
            content.append({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []})
        block = {"type": "text", "text": text}
        if cited:
            block["citations"] = [
                {
                    "type": "web_search_result_location",
                    "url": "https://e.com",
                    "title": "t",
                    "cited_text": "x",
                }
            ]
        content.append(block)
    message = {"model": "claude-x", "content": content, "usage": {"input_tokens": 1, "output_tokens": 1}}
    result = parse_messages([message], web_search=True, fallback_model="claude-x")
    cited_texts = [text for text, cited, _ in runs if cited]
    [part] = result.parts
    assert [part.text[c.start_index : c.end_index] for c in part.citations] == cited_texts


@given(st.lists(RUN, min_size=1, max_size=6), st.data())
def test_gemini_byte_offsets_become_the_segments_characters(pieces, data):
    text = "".join(pieces)
    supports, at = [], 0
    for piece in pieces:
        start, end = len(text[:at].encode()), len(text[: at + len(piece)].encode())
        segment = {"endIndex": end, "text": piece}
        if start:
            segment["startIndex"] = start  # protobuf JSON leaves a 0 out
        if data.draw(st.booleans()):
            supports.append({"segment": segment, "groundingChunkIndices": [0]})
        at += len(piece)
    raw = {
        "candidates": [
            {
                "content": {"parts": [{"text": "thinking", "thought": True}, {"text": text}]},
                "groundingMetadata": {
                    "webSearchQueries": ["q"],
                    "groundingChunks": [
                        {"web": {"uri": "https://vertexaisearch.cloud.google.com/x", "title": "e.com"}}
                    ],
                    "groundingSupports": supports,
                },
            }
        ],
        "modelVersion": "gemini-2.5-flash",
    }
    [part] = parse_response(raw, web_search=True, fallback_model="gemini-2.5-flash").parts
    assert part.text == text
    assert [part.text[c.start_index : c.end_index] for c in part.citations] == [
        s["segment"]["text"] for s in supports
    ]


@given(st.lists(st.tuples(RUN, st.lists(st.integers(1, 3), max_size=3)), min_size=1, max_size=6))
def test_perplexity_markers_cite_a_nonempty_claim_inside_the_text(sentences):
    text = "".join(f"{s}{''.join(f'[{n}]' for n in markers)} " for s, markers in sentences)
    sources = {1: ("https://a.com", "a"), 2: ("https://b.com", "b")}  # [3] names no result: ignored
    for c in cited_spans(text, sources):
        span = text[c.start_index : c.end_index]
        assert span and span == span.strip() and "[" not in span[-1:]
        assert text[c.end_index :].lstrip().startswith("[")  # the claim ends where its markers begin
    named = sum(1 for _, markers in sentences for n in markers if n <= 2)
    assert len(cited_spans(text, sources)) <= named
