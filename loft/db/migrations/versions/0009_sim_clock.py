"""sim clock: how far the simulator's clock is ahead of the wall clock, shared by every process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00.000000

POST /sim/v1/Clock moves Loft's "now" ahead; the offset is kept here (one row, made by the first advance), so
that every process of a deployment follows it and it survives a restart (loft/sim/clock.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sim_clock',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('offset_seconds', sa.BigInteger(), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sim_clock'))
    )


def downgrade() -> None:
    op.drop_table('sim_clock')
