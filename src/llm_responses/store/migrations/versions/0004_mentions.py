"""The mentions index: one row per answered task (what the LLM Mentions endpoints search and aggregate), its
cited links, and the tracked brands found in it, written when the task settles (store/mentions.py).

Keyword targets (over ``mention_texts``) are answered from full-text indexes, never by scanning answers: on SQLite two FTS5 tables
over the same rows (``unicode61`` words for ``word_match``, ``trigram`` for ``partial_match`` substrings),
kept in step by triggers; on PostgreSQL a weighted ``tsvector`` (one weight per search scope) under GIN and
``pg_trgm`` GIN indexes for substrings.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = "question, answer, fan_out, brands"


def upgrade() -> None:
    op.create_table(
        "mention_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),  # the task's se
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("location_code", sa.Integer, nullable=True),  # 2000 + ISO 3166 numeric, DataForSEO's rule
        sa.Column("language_code", sa.String(16), nullable=True),
        sa.Column("tag", sa.String(255), nullable=True),
        sa.Column("day", sa.String(10), nullable=False),  # YYYY-MM-DD (UTC) the task was posted
        sa.Column("asked_at", sa.Float, nullable=False),
        sa.Column("web_search", sa.Boolean, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        # JSON arrays of distinct values, read by the breakdowns in place of a lookup per answer
        sa.Column("cited_domains", sa.Text, nullable=False),
        sa.Column("result_domains", sa.Text, nullable=False),
        sa.Column("brand_names", sa.Text, nullable=False),
        sa.Column("brand_categories", sa.Text, nullable=False),
    )
    op.create_index("mention_answers_account_day", "mention_answers", ["account_id", "day"])
    # the searched text apart from the narrow rows above: aggregates read many answers' rows by id, and
    # do so from dense pages, never through answers' text
    op.create_table(
        "mention_texts",
        sa.Column(
            "id",
            sa.Integer,
            sa.ForeignKey("mention_answers.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),  # fmt: skip
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),  # URLs blanked: a link is not a mention
        sa.Column("fan_out", sa.Text, nullable=False),  # one query per line
        sa.Column("brands", sa.Text, nullable=False),  # the tracked brands found, one per line
    )
    op.create_table(
        "mention_links",
        sa.Column(
            "answer_id", sa.Integer, sa.ForeignKey("mention_answers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("scope", sa.String(1), nullable=False),  # s: a cited source, r: a search result
        sa.Column("host_rev", sa.String(255), nullable=False),  # com.example.www: subdomains are a range
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("rank", sa.Integer, nullable=False),
    )
    op.create_index("mention_links_host", "mention_links", ["account_id", "host_rev", "answer_id"])
    # covering: a breakdown by cited domain reads the index only
    op.create_index("mention_links_answer", "mention_links", ["answer_id", "scope", "domain"])
    op.create_table(
        "mention_brands",
        sa.Column(
            "answer_id", sa.Integer, sa.ForeignKey("mention_answers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("brand", sa.String(255), nullable=False),
        sa.Column("category", sa.String(255), nullable=False),
        sa.Column("competitor", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=True),  # 1-based among the tracked brands it names
        sa.Column("mentioned", sa.Boolean, nullable=False),
        sa.Column("cited", sa.Boolean, nullable=False),
        sa.Column("negated", sa.Boolean, nullable=False),  # flagged for review, still counted
        sa.Column("first_offset", sa.Integer, nullable=True),
    )
    op.create_index(
        "mention_brands_answer", "mention_brands", ["answer_id", "mentioned", "brand", "category"]
    )
    op.create_index("mention_brands_brand", "mention_brands", ["account_id", "brand"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fulltext()
    else:
        _postgres_fulltext()


def _sqlite_fulltext() -> None:
    for table, tokenizer in (
        ("mention_words", "unicode61 remove_diacritics 2"),
        ("mention_chars", "trigram"),
    ):
        op.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5({_COLUMNS}, content='mention_texts', "
            f"content_rowid='id', tokenize='{tokenizer}')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_insert AFTER INSERT ON mention_texts BEGIN "
            f"INSERT INTO {table}(rowid, {_COLUMNS}) "
            f"VALUES (new.id, new.question, new.answer, new.fan_out, new.brands); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_delete AFTER DELETE ON mention_texts BEGIN "
            f"INSERT INTO {table}({table}, rowid, {_COLUMNS}) "
            f"VALUES ('delete', old.id, old.question, old.answer, old.fan_out, old.brands); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_update AFTER UPDATE ON mention_texts BEGIN "
            f"INSERT INTO {table}({table}, rowid, {_COLUMNS}) "
            f"VALUES ('delete', old.id, old.question, old.answer, old.fan_out, old.brands); "
            f"INSERT INTO {table}(rowid, {_COLUMNS}) "
            f"VALUES (new.id, new.question, new.answer, new.fan_out, new.brands); END"
        )


def _postgres_fulltext() -> None:
    # byte order, whatever the database's collation: a subdomain range ('com.example.' .. 'com.example/') is
    # a range of bytes, which a linguistic collation (punctuation ignored) would not keep together
    op.execute('ALTER TABLE mention_links ALTER COLUMN host_rev TYPE varchar(255) COLLATE "C"')
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # weights: A question, B answer, C fan-out queries, D brands (a scope is a ts_filter on weights)
    op.execute(
        "ALTER TABLE mention_texts ADD COLUMN words tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple', question), 'A') || setweight(to_tsvector('simple', answer), 'B') || "
        "setweight(to_tsvector('simple', fan_out), 'C') || setweight(to_tsvector('simple', brands), 'D')"
        ") STORED"
    )
    op.execute("CREATE INDEX mention_texts_words ON mention_texts USING gin (words)")
    for column in ("question", "answer", "fan_out", "brands"):
        op.execute(
            f"CREATE INDEX mention_texts_{column}_trgm ON mention_texts USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("mention_words", "mention_chars"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {table}")
    op.drop_table("mention_texts")
    op.drop_table("mention_brands")
    op.drop_table("mention_links")
    op.drop_table("mention_answers")
