"""how many messages each account has scheduled, kept as they enter and leave that status (Twilio refuses one
over 500,000 with 35125)

Revision ID: 0018_scheduled_counts
Revises: 0017_messages_lock_no_account
Create Date: 2026-12-07 23:00:00.000000

Counting an account's ``scheduled`` messages at each scheduled create would read every message of the account
(``messages`` has no index on ``status``, and a partial one would end PostgreSQL's in-place updates of the
table, migration 0014, since every status change would then touch an indexed column). So each account's count is
a row of its own, filled here from the messages scheduled now.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_scheduled_counts'
down_revision: str | None = '0017_messages_lock_no_account'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'scheduled_counts',
        sa.Column('account_sid', sa.String(length=34), nullable=False),
        sa.Column('scheduled', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('account_sid', name=op.f('pk_scheduled_counts')),
    )
    op.execute("INSERT INTO scheduled_counts (account_sid, scheduled) "
               "SELECT account_sid, count(*) FROM messages WHERE status = 'scheduled' GROUP BY account_sid")


def downgrade() -> None:
    op.drop_table('scheduled_counts')
