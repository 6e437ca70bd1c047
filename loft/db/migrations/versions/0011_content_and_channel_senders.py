"""content and channel senders: Content API templates (HX…) and RCS channel senders (XE…)

Revision ID: 0011
Revises: 0010_bots
Create Date: 2026-12-05 21:45:00.000000

The Content API v1's templates (loft/content/) and the messaging v2 API's channel senders (loft/senders/), which a
Messaging Service's pool takes as its channel senders (messaging_service_senders, kind ``channel_sender``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010_bots'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contents',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('friendly_name', sa.String(length=255), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('approval', sa.JSON(), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid'], name=op.f('fk_contents_account_sid_accounts')),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_contents'))
    )
    op.create_index('ix_contents_account_created', 'contents', ['account_sid', 'date_created', 'sid'], unique=False)
    op.create_table('channel_senders',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('sender_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=True),
    sa.Column('webhook', sa.JSON(), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid'], name=op.f('fk_channel_senders_account_sid_accounts')),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_channel_senders')),
    sa.UniqueConstraint('sender_id', name=op.f('uq_channel_senders_sender_id'))
    )
    op.create_index('ix_channel_senders_account_created', 'channel_senders', ['account_sid', 'date_created', 'sid'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_channel_senders_account_created', table_name='channel_senders')
    op.drop_table('channel_senders')
    op.drop_index('ix_contents_account_created', table_name='contents')
    op.drop_table('contents')
