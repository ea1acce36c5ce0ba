"""Two dashboard reads that scanned a table, measured at 100,000 answers in a project (bench/bench_dashboard.py).

- ``tasks_spend``: the Spend page's tasks by the day they were posted, (account, created_at) with the columns
  ``spend_by_day`` sums (engine, status, cost, what batching saved), so 90 days of tasks are read from the
  index alone. Through ``tasks_created`` the read went to each task's row, and a row's cost lies after its
  request, data and result JSON: on SQLite several overflow pages a task (21,600 tasks: 120 ms; with this
  index 20 ms).
- ``mention_prompt_rollups_day``: the per-prompt rollups of a range of days (the matrix, the overview's
  prompts, new and lost). Their key starts with the prompt, so PostgreSQL, which has no skip scan, read the
  whole project's rows for a week (a parallel scan of 343,000 rows: 56 ms; with this index 3 ms); SQLite
  skip-scanned them prompt by prompt (14 ms; 7 ms).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "tasks_spend", "tasks", ["account_id", "created_at", "se", "status", "cost", "batch_saved"]
    )
    op.create_index(
        "mention_prompt_rollups_day", "mention_prompt_rollups", ["account_id", "project_id", "day"]
    )


def downgrade() -> None:
    op.drop_index("mention_prompt_rollups_day", "mention_prompt_rollups")
    op.drop_index("tasks_spend", "tasks")
