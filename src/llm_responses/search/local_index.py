"""The offline search backend: SQLite FTS5 over documents the user loads (``llm-responses index add``).

BM25 ranking with title matches weighted up; snippets are FTS5's own ``snippet()`` around the matched
terms. Queries are reduced to their words and OR-ed, so any punctuation a prompt carries is safe and a
document matching more of the words ranks higher. One file, readable while it is being added to (WAL).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

from llm_responses.core import Locale, SearchHit
from llm_responses.errors import SearchError
from llm_responses.search.documents import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    title, body, content='documents', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
"""

_WORD = re.compile(r"\w+", re.UNICODE)
SNIPPET_TOKENS = 48


def fts_query(text: str) -> str | None:
    """Words of ``text`` as quoted FTS5 terms joined by OR; None when there is no word at all."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    return " OR ".join(f'"{w}"' for w in words) if words else None


class LocalIndex:
    name = "local"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(SCHEMA)
        return conn

    # -- loading -----------------------------------------------------------------------------------

    def add(self, documents: list[Document]) -> tuple[int, int]:
        """Insert or replace documents by URL; returns (added, replaced)."""
        added = replaced = 0
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for doc in documents:
                row = conn.execute("SELECT id FROM documents WHERE url = ?", (doc.url,)).fetchone()
                if row:
                    conn.execute(
                        "UPDATE documents SET title = ?, body = ?, added_at = ? WHERE id = ?",
                        (doc.title, doc.text, time.time(), row[0]),
                    )
                    replaced += 1
                else:
                    conn.execute(
                        "INSERT INTO documents (url, title, body, added_at) VALUES (?, ?, ?, ?)",
                        (doc.url, doc.title, doc.text, time.time()),
                    )
                    added += 1
            conn.execute("COMMIT")
        finally:
            conn.close()
        return added, replaced

    def count(self) -> int:
        conn = self._connect()
        try:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        finally:
            conn.close()

    # -- searching ---------------------------------------------------------------------------------

    async def search(self, query: str, *, limit: int, locale: Locale) -> list[SearchHit]:
        """``locale`` is not used: a local collection has no regions."""
        return await asyncio.to_thread(self._search, query, limit)

    def _search(self, query: str, limit: int) -> list[SearchHit]:
        match = fts_query(query)
        if match is None:
            return []
        try:
            conn = self._connect()
            try:
                rows = conn.execute(
                    "SELECT d.title, d.url, snippet(documents_fts, 1, '', '', ' … ', ?) "
                    "FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid "
                    "WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 5.0, 1.0) LIMIT ?",
                    (SNIPPET_TOKENS, match, limit),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise SearchError(f"local index {self.path}: {exc}") from exc
        return [SearchHit(title=t, url=u, snippet=" ".join(s.split())) for t, u, s in rows]

    async def aclose(self) -> None:
        return None
