"""the workers listening for new work, each on a channel of its own (``listeners``)

Revision ID: 0016_listeners
Revises: 0015_unclaimed_jobs
Create Date: 2026-12-06 07:00:00.000000

On PostgreSQL a process that records new sends notified one channel that every worker listened on: each
notification woke every worker of the deployment, and each claimed, most of them for nothing (with N workers, N
claims per batch of sends). Each worker now also listens on a channel of its own, kept in this table while it
listens, and a notification goes to one of them in turn (loft/delivery/wakeups.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_listeners'
down_revision: str | None = '0015_unclaimed_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'listeners',
        sa.Column('channel', sa.String(length=63), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel'),
    )


def downgrade() -> None:
    op.drop_table('listeners')
