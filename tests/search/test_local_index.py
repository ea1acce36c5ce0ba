"""The offline index: files in, ranked hits out, over a real SQLite FTS5 file; and the CLI that fills it."""

import json
import subprocess
import sys

import pytest

from llm_responses.core import Locale
from llm_responses.search.documents import collect, html_to_text, read_document, url_for
from llm_responses.search.local_index import LocalIndex, fts_query


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "kb"
    (root / "parks").mkdir(parents=True)
    (root / "parks" / "france.md").write_text(
        "# Amusement parks in France\n\nDisneyland Paris receives about 10 million visitors a year.\n"
        "Parc Astérix welcomed 2.8 million visitors in 2023.\n",
        "utf-8",
    )
    (root / "bread.html").write_text(
        "<html><head><title>Baking bread</title><style>.x{}</style></head><body><h1>Bread</h1>"
        "<p>Flour, water &amp; salt.</p><script>var visitors = 1;</script></body></html>",
        "utf-8",
    )
    (root / "notes.txt").write_text("Plain notes about roller coasters and visitors.\n", "utf-8")
    (root / "image.png").write_bytes(b"\x89PNG")
    return root


def test_documents_keep_visible_text_and_find_titles(corpus):
    files = collect([corpus])
    assert [f.name for f in files] == ["bread.html", "notes.txt", "france.md"]
    html = read_document(corpus / "bread.html", "u")
    assert html.title == "Baking bread"
    assert "Flour, water & salt." in html.text
    assert "var visitors" not in html.text and ".x{}" not in html.text
    assert read_document(corpus / "parks" / "france.md", "u").title == "Amusement parks in France"
    assert read_document(corpus / "notes.txt", "u").title == "notes"
    assert html_to_text("<h1>Only a heading</h1><p>x</p>")[0] == "Only a heading"


def test_urls_come_from_the_base_url_or_are_file_uris(corpus):
    file = corpus / "parks" / "france.md"
    assert url_for(file, corpus, "https://example.com/kb/") == "https://example.com/kb/parks/france.md"
    assert url_for(file, None, None) == file.resolve().as_uri()


def test_query_text_of_any_shape_is_safe_for_fts5():
    assert (
        fts_query('what "is" NEAR(a b) * OR -x?') == '"what" OR "is" OR "near" OR "a" OR "b" OR "or" OR "x"'
    )
    assert fts_query("?!*") is None


async def test_search_ranks_the_matching_document_first_and_snippets_the_match(tmp_path, corpus):
    index = LocalIndex(tmp_path / "index.db")
    docs = [read_document(f, url_for(f, corpus, "https://kb.example")) for f in collect([corpus])]
    assert index.add(docs) == (3, 0)
    hits = await index.search("How many visitors does Disneyland Paris get?", limit=3, locale=Locale("FR"))
    assert hits[0].url == "https://kb.example/parks/france.md"
    assert hits[0].title == "Amusement parks in France"
    assert "Disneyland" in hits[0].snippet
    assert "https://kb.example/bread.html" not in [h.url for h in hits]  # its only match was in a <script>
    assert await index.search("astérix", limit=3, locale=Locale()) == await index.search(
        "asterix", limit=3, locale=Locale()
    )
    assert await index.search("zeppelin", limit=3, locale=Locale()) == []
    assert await index.search("...", limit=3, locale=Locale()) == []


async def test_adding_the_same_url_again_replaces_the_document(tmp_path, corpus):
    index = LocalIndex(tmp_path / "index.db")
    file = corpus / "notes.txt"
    index.add([read_document(file, "https://kb.example/notes")])
    file.write_text("Now about zeppelins.\n", "utf-8")
    assert index.add([read_document(file, "https://kb.example/notes")]) == (0, 1)
    assert index.count() == 1
    assert [h.url for h in await index.search("zeppelins", limit=3, locale=Locale())] == [
        "https://kb.example/notes"
    ]
    assert await index.search("roller coasters", limit=3, locale=Locale()) == []


@pytest.mark.slow
def test_index_add_cli(tmp_path, corpus):
    target = tmp_path / "cli-index.db"
    cmd = [
        sys.executable,
        "-m",
        "llm_responses.cli",
        "index",
        "add",
        str(corpus),
        "--base-url",
        "https://kb.example",
        "--index-path",
        str(target),
        "--json",
    ]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    assert out == {"added": 3, "replaced": 0, "documents": 3, "index": str(target)}
    missing = subprocess.run(cmd[:5] + [str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
