"""Fair claims: an index that finds the accounts with queued tasks, and each one's oldest, by index probes
(store/fair_claim.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("tasks_fair", "tasks", ["status", "account_id", "run_after"])


def downgrade() -> None:
    op.drop_index("tasks_fair", "tasks")
