"""Vendor batches: the tasks a batcher sends through a vendor's batch API, and the batches themselves.

``tasks.lane`` is ``batch`` for a task_post task waiting to be gathered into a vendor batch (its
``run_after`` is an hour away, so a direct worker takes it only if no batcher does), ``direct`` otherwise;
``batched`` is the status of a task inside a vendor batch (``batch_id``); ``batch_saved`` is what batching
saved on it. A batch row is written in the transaction that marks its tasks, before the vendor is called,
so a process that dies mid-submit leaves a row another process recovers.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("lane", sa.String(8), nullable=False, server_default="direct"))
    op.add_column("tasks", sa.Column("batch_id", sa.String(36), nullable=True))
    op.add_column("tasks", sa.Column("batch_saved", sa.BigInteger, nullable=False, server_default="0"))
    # the batcher's gathering: queued tasks of the batch lane, oldest first
    op.create_index(
        "tasks_batch_lane",
        "tasks",
        ["created_at"],
        sqlite_where=sa.text("lane = 'batch' AND status = 'queued'"),
        postgresql_where=sa.text("lane = 'batch' AND status = 'queued'"),
    )
    op.create_index(
        "tasks_batch_id",
        "tasks",
        ["batch_id"],
        sqlite_where=sa.text("batch_id IS NOT NULL"),
        postgresql_where=sa.text("batch_id IS NOT NULL"),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), primary_key=True),  # ours: the vendor's idempotency key or label
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("grp", sa.String(256), nullable=False),  # the vendor's grouping (OpenAI: the model)
        sa.Column("status", sa.String(16), nullable=False),  # submitting, submitted, ended
        sa.Column("vendor_id", sa.String(256), nullable=True),
        sa.Column("input_file", sa.String(256), nullable=True),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("submitted_at", sa.Float, nullable=True),
        sa.Column("next_poll_at", sa.Float, nullable=False),
        sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("batches_due", "batches", ["status", "next_poll_at"])


def downgrade() -> None:
    op.drop_index("batches_due", "batches")
    op.drop_table("batches")
    op.drop_index("tasks_batch_id", "tasks")
    op.drop_index("tasks_batch_lane", "tasks")
    op.drop_column("tasks", "batch_saved")
    op.drop_column("tasks", "batch_id")
    op.drop_column("tasks", "lane")
