"""``index``: the local search index that lends web search to models without their own (not the mentions
index: that is ``mentions.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llm_responses.cli.group import main, settings_from


@main.group()
def index() -> None:
    """The local search index that gives web_search to models without their own (offline, SQLite FTS5)."""


index_option = click.option(
    "--index-path",
    envvar="LLM_RESPONSES_SEARCH_INDEX_PATH",
    default=None,
    help="the index file (default: ./llm-responses-index.db)",
)


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    help="URL of the files' root, e.g. https://example.com/docs (default: file:// URLs)",
)
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def index_add(paths: tuple[Path, ...], base_url: str | None, index_path: str | None, as_json: bool) -> None:
    """Add (or replace, by URL) text, Markdown and HTML files; directories are walked."""
    from llm_responses.search import documents
    from llm_responses.search.local_index import LocalIndex

    target = LocalIndex(index_path or settings_from().search_index_path)
    docs = []
    for root in paths:
        for file in documents.collect([root]):
            url = documents.url_for(file, root if root.is_dir() else None, base_url)
            docs.append(documents.read_document(file, url))
    added, replaced = target.add(docs)
    total = target.count()
    if as_json:
        click.echo(
            json.dumps({"added": added, "replaced": replaced, "documents": total, "index": target.path})
        )
    else:
        click.echo(f"added {added}, replaced {replaced}; {total} documents in {target.path}")


@index.command("stats")
@index_option
def index_stats(index_path: str | None) -> None:
    """How many documents the index holds."""
    from llm_responses.search.local_index import LocalIndex

    target = LocalIndex(index_path or settings_from().search_index_path)
    click.echo(f"{target.count()} documents in {target.path}")
