"""The schema as declared: what the migrations must produce, on SQLite and PostgreSQL alike.

Queries do not use these objects (the stores speak SQL); a test migrates an empty database and compares it
with this declaration, so a migration and the code reading the tables cannot drift apart unnoticed.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)  # fmt: skip

sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(255), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("webhook_secret", sa.String(64), nullable=True),
    sa.Column("webhook_secret_previous", sa.String(64), nullable=True),
    sa.Column("webhook_secret_rotated_at", sa.Float, nullable=True),
)  # fmt: skip

sa.Table(
    "ledger", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("task_id", sa.String(36), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ledger_account_time", "account_id", "created_at"),
    sa.Index("ledger_task", "task_id"),
)  # fmt: skip

sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("se", sa.String(32), nullable=False),
    sa.Column("endpoint", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("request_json", sa.Text, nullable=True),
    sa.Column("data_json", sa.Text, nullable=True),
    sa.Column("result_json", sa.Text, nullable=True),
    sa.Column("tag", sa.String(255), nullable=True),
    sa.Column("postback_url", sa.Text, nullable=True),
    sa.Column("pingback_url", sa.Text, nullable=True),
    sa.Column("base_price", sa.BigInteger, nullable=False),
    sa.Column("prepayment", sa.BigInteger, nullable=False),
    sa.Column("money_spent", sa.BigInteger, nullable=True),
    sa.Column("cost", sa.BigInteger, nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=True),
    sa.Column("output_tokens", sa.Integer, nullable=True),
    sa.Column("reasoning_tokens", sa.Integer, nullable=True),
    sa.Column("web_search_calls", sa.Integer, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("run_after", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("collected_at", sa.Float, nullable=True),
    sa.Column("error_detail", sa.Text, nullable=True),
    sa.Column("postback_state", sa.String(16), nullable=True),
    sa.Index("tasks_queue", "status", "run_after"),
    sa.Index("tasks_fair", "status", "account_id", "run_after"),  # fair claims (store/fair_claim.py)
    sa.Index("tasks_ready", "account_id", "finished_at"),
    sa.Index("tasks_created", "created_at"),
)  # fmt: skip

sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id"), nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Index("deliveries_due", "status", "next_attempt_at"),
    sa.Index("deliveries_task", "task_id"),
)  # fmt: skip

sa.Table(
    "delivery_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Index("delivery_attempts_delivery", "delivery_id"),
)  # fmt: skip
