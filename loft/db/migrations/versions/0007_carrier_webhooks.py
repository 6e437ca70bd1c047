"""carrier webhooks: the idempotency tokens of a relayed upstream's webhooks, to take each once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00.000000

A Twilio relay carrier's upstream retries a webhook (a status callback, an inbound message) with the same
I-Twilio-Idempotency-Token; each token taken is kept here for a day, so that a retry is not taken twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('carrier_webhooks',
    sa.Column('carrier', sa.String(length=64), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('date_received', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('carrier', 'token_digest', name=op.f('pk_carrier_webhooks'))
    )
    with op.batch_alter_table('carrier_webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_carrier_webhooks_date_received', ['date_received'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('carrier_webhooks', schema=None) as batch_op:
        batch_op.drop_index('ix_carrier_webhooks_date_received')
    op.drop_table('carrier_webhooks')
