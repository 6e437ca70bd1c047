"""messaging sticky senders: the sender a Messaging Service last sent to each recipient from

Revision ID: 0012_sticky_senders
Revises: 0011
Create Date: 2026-12-05 21:30:00.000000

A message sent through a service keeps its recipient's sender while the service's sticky_sender is on
(loft/delivery/selection.py). Named for its content: another branch may add one after 0010_bots too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_sticky_senders'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('messaging_sticky_senders',
    sa.Column('service_sid', sa.String(length=34), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('sender_sid', sa.String(length=34), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_sid'], ['messaging_services.sid'],
                            name=op.f('fk_messaging_sticky_senders_service_sid_messaging_services'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_sid', 'recipient', name=op.f('pk_messaging_sticky_senders'))
    )


def downgrade() -> None:
    op.drop_table('messaging_sticky_senders')
