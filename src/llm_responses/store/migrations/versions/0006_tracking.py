"""Tracking projects, their runs and alerts; the mentions index's outbox and rollups.

- ``projects``: an account's prompt set × engines × models × countries × repeats × schedule × brands, kept
  as the validated spec (JSON, ``tracking/spec.py``); ``next_run_at`` is the start of the next period the
  scheduler may claim.
- ``project_runs``: one row per (project, period), unique: a period claimed by one worker can never be run
  by another, and a restart after missed periods claims only the latest.
- ``tasks.project_id``/``run_id``/``prompt_key``: which run posted a task, and which cell of the run's plan
  it answers (a resumed run posts the cells without an answer); lane ``idle``: a background project's
  tasks, which a worker takes only when it has nothing else to do.
- ``mention_outbox``: a row written in the transaction that settles an answered task; the worker's indexer
  takes rows in batches, indexes the answers (and their rollups) and deletes the rows in one transaction,
  so an answer is never left unindexed and indexing costs the settling transaction one small insert.
- ``mention_answers.project_id``/``run_id``: whose brands the answer was read for (0: the server's
  ``[[brands]]``), and the run, for the run's own metrics and alerts.
- ``mention_rollups``: per account × project × day × engine × model × country × brand, the counts the
  brand metrics are made of (``brand = ''``: the group's answers), kept current by the indexer;
  ``mention_prompt_rollups`` the same per prompt (``prompt_hash``, its text once in ``mention_prompts``),
  so a breakdown by prompt or by a project's prompt tags reads no answers either; ``mention_daily_rollups``
  (day × engine) and ``mention_prompt_totals`` (prompt × engine, all time) are the same counts coarser, for
  the breakdowns asked most, which then read thousands of rows instead of hundreds of thousands.
- ``alerts``: what the rules found (and the daily digests), each once (``dedupe``), and
  ``deliveries.alert_id`` and ``format``: an alert (or a digest) leaves through the webhook queue (signed,
  retried, guarded) in the receiver's format.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),  # the validated ProjectSpec as JSON
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("next_run_at", sa.Float, nullable=True),  # None: no schedule (runs only when asked)
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="projects_account_name"),
    )
    op.create_index("projects_due", "projects", ["next_run_at"])
    op.create_table(
        "project_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("period", sa.String(64), nullable=False),  # the slot's ISO time, or "manual:<time>"
        sa.Column("trigger", sa.String(16), nullable=False),  # schedule | manual
        sa.Column("status", sa.String(16), nullable=False),  # running, done, partial, failed, over_budget
        sa.Column("scheduled_for", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("tasks", sa.Integer, nullable=False, server_default="0"),  # posted, across resumes
        sa.Column("estimate", sa.BigInteger, nullable=False, server_default="0"),  # nano-dollars
        sa.Column("cost", sa.BigInteger, nullable=True),  # nano-dollars, when finished
        sa.Column("error", sa.Text, nullable=True),
        sa.UniqueConstraint("project_id", "period", name="project_runs_period"),
    )
    op.create_index("project_runs_status", "project_runs", ["status"])
    op.add_column("tasks", sa.Column("project_id", sa.Integer, nullable=True))
    op.add_column("tasks", sa.Column("run_id", sa.Integer, nullable=True))
    op.add_column("tasks", sa.Column("prompt_key", sa.String(32), nullable=True))
    op.create_index(
        "tasks_run",
        "tasks",
        ["run_id", "prompt_key"],
        sqlite_where=sa.text("run_id IS NOT NULL"),
        postgresql_where=sa.text("run_id IS NOT NULL"),
    )
    op.create_index(
        "tasks_project",
        "tasks",
        ["project_id", "created_at"],
        sqlite_where=sa.text("project_id IS NOT NULL"),
        postgresql_where=sa.text("project_id IS NOT NULL"),
    )
    # the idle lane: a background project's queued tasks, taken one at a time by a worker with nothing else
    op.create_index(
        "tasks_idle_lane",
        "tasks",
        ["created_at"],
        sqlite_where=sa.text("lane = 'idle' AND status = 'queued'"),
        postgresql_where=sa.text("lane = 'idle' AND status = 'queued'"),
    )
    op.create_table(
        "mention_outbox",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("queued_at", sa.Float, nullable=False),
        sa.Column(
            "replace", sa.Boolean, nullable=False, server_default=sa.false()
        ),  # re-index (brands changed)
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("mention_outbox_due", "mention_outbox", ["lease_until", "queued_at"])
    op.add_column("mention_answers", sa.Column("project_id", sa.Integer, nullable=False, server_default="0"))
    op.add_column("mention_answers", sa.Column("run_id", sa.Integer, nullable=True))
    op.add_column("mention_answers", sa.Column("prompt_hash", sa.String(16), nullable=True))
    op.create_index("mention_answers_project", "mention_answers", ["account_id", "project_id", "day"])
    op.create_index(
        "mention_answers_run",
        "mention_answers",
        ["run_id"],
        sqlite_where=sa.text("run_id IS NOT NULL"),
        postgresql_where=sa.text("run_id IS NOT NULL"),
    )
    op.create_table(
        "mention_rollups",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),  # 0: the server's [[brands]]
        sa.Column("day", sa.String(10), nullable=False),  # YYYY-MM-DD (UTC) the task was posted
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("location_code", sa.Integer, nullable=False),  # 0: no country
        sa.Column("brand", sa.String(255), nullable=False),  # '': the group's own row (answers)
        sa.Column("competitor", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("answers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("with_citations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("mentions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("citations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("positions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("position_sum", sa.Integer, nullable=False, server_default="0"),
        sa.Column("negated", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "account_id",
            "project_id",
            "day",
            "platform",
            "model_name",
            "location_code",
            "brand",
            name="mention_rollups_pkey",
        ),  # fmt: skip
    )

    def counts() -> list[sa.Column[int | str | bool]]:
        return [
            sa.Column("brand", sa.String(255), nullable=False),  # '': the group's own row (answers)
            sa.Column("competitor", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("answers", sa.Integer, nullable=False, server_default="0"),
            sa.Column("with_citations", sa.Integer, nullable=False, server_default="0"),
            sa.Column("mentions", sa.Integer, nullable=False, server_default="0"),
            sa.Column("citations", sa.Integer, nullable=False, server_default="0"),
            sa.Column("positions", sa.Integer, nullable=False, server_default="0"),
            sa.Column("position_sum", sa.Integer, nullable=False, server_default="0"),
            sa.Column("negated", sa.Integer, nullable=False, server_default="0"),
        ]

    op.create_table(
        "mention_prompt_rollups",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("prompt_hash", sa.String(16), nullable=False),  # analysis.answer_index.prompt_hash
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("location_code", sa.Integer, nullable=False),
        *counts(),
        sa.PrimaryKeyConstraint(
            "account_id",
            "project_id",
            "prompt_hash",
            "day",
            "platform",
            "model_name",
            "location_code",
            "brand",
            name="mention_prompt_rollups_pkey",
        ),  # fmt: skip
    )
    # the same counts coarser, for the breakdowns most asked for: by day and engine (no model or country), by
    # prompt and engine over all time; the brand metrics read the smallest table that has what they ask
    op.create_table(
        "mention_daily_rollups",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        *counts(),
        sa.PrimaryKeyConstraint(
            "account_id", "project_id", "day", "platform", "brand", name="mention_daily_rollups_pkey"
        ),
    )
    op.create_table(
        "mention_prompt_totals",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("prompt_hash", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        *counts(),
        sa.PrimaryKeyConstraint(
            "account_id", "project_id", "prompt_hash", "platform", "brand", name="mention_prompt_totals_pkey"
        ),
    )
    op.create_table(
        "mention_prompts",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("prompt_hash", sa.String(16), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "project_id", "prompt_hash", name="mention_prompts_pkey"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("brand", sa.String(255), nullable=True),
        sa.Column("subject", sa.Text, nullable=True),  # the prompt, domain or competitor it is about
        sa.Column("message", sa.Text, nullable=False),  # one line a person reads
        sa.Column("detail", sa.Text, nullable=False),  # JSON: the numbers behind it
        sa.Column("dedupe", sa.String(255), nullable=False),  # the same finding is recorded once
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "dedupe", name="alerts_dedupe"),
    )
    op.create_index("alerts_account", "alerts", ["account_id", "created_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("task_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("alert_id", sa.Integer, nullable=True))
        batch.add_column(
            sa.Column("format", sa.String(16), nullable=True)
        )  # an alert's: json, slack, discord
    op.create_index(
        "deliveries_alert",
        "deliveries",
        ["alert_id"],
        sqlite_where=sa.text("alert_id IS NOT NULL"),
        postgresql_where=sa.text("alert_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("deliveries_alert", "deliveries")
    op.execute(
        "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE task_id IS NULL)"
    )
    op.execute("DELETE FROM deliveries WHERE task_id IS NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("format")
        batch.drop_column("alert_id")
        batch.alter_column("task_id", existing_type=sa.String(36), nullable=False)
    op.drop_index("alerts_account", "alerts")
    op.drop_table("alerts")
    op.drop_table("mention_prompts")
    op.drop_table("mention_prompt_totals")
    op.drop_table("mention_daily_rollups")
    op.drop_table("mention_prompt_rollups")
    op.drop_table("mention_rollups")
    op.drop_index("mention_answers_run", "mention_answers")
    op.drop_index("mention_answers_project", "mention_answers")
    op.drop_column("mention_answers", "prompt_hash")
    op.drop_column("mention_answers", "run_id")
    op.drop_column("mention_answers", "project_id")
    op.drop_index("mention_outbox_due", "mention_outbox")
    op.drop_table("mention_outbox")
    op.drop_index("tasks_idle_lane", "tasks")
    op.drop_index("tasks_project", "tasks")
    op.drop_index("tasks_run", "tasks")
    op.drop_column("tasks", "prompt_key")
    op.drop_column("tasks", "run_id")
    op.drop_column("tasks", "project_id")
    op.drop_index("project_runs_status", "project_runs")
    op.drop_table("project_runs")
    op.drop_index("projects_due", "projects")
    op.drop_table("projects")
