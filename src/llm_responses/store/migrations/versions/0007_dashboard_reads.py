"""The dashboard's reads of one project's answers, newest first.

- ``mention_answers_prompt``: a prompt's answers (``prompt_hash``) across engines and runs, newest first:
  the answer page's "same prompt elsewhere" and a matrix cell's answers read a few index entries.
- ``mention_answers_recent``: a project's answers newest first (the task list filtered by project, brand or
  date), a page read from the index's end instead of sorting the project's answers.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "mention_answers_prompt", "mention_answers", ["account_id", "project_id", "prompt_hash", "asked_at"]
    )
    op.create_index("mention_answers_recent", "mention_answers", ["account_id", "project_id", "asked_at"])


def downgrade() -> None:
    op.drop_index("mention_answers_recent", "mention_answers")
    op.drop_index("mention_answers_prompt", "mention_answers")
