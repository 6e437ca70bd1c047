"""bots: Bot Framework connections, Loft being the bot's SMS channel (loft/bots)

Revision ID: 0010_bots
Revises: 0009
Create Date: 2026-12-05 21:40:00.000000

One row per bot an account connected: its messaging endpoint and, for the authenticated mode, its app id and
sealed password; and the RSA keys Loft signs those bots' Activities with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_bots'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bots',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('friendly_name', sa.String(length=255), nullable=False),
    sa.Column('messaging_endpoint', sa.Text(), nullable=False),
    sa.Column('microsoft_app_id', sa.String(length=255), nullable=True),
    sa.Column('microsoft_app_password_sealed', sa.Text(), nullable=True),
    sa.Column('microsoft_app_tenant_id', sa.String(length=255), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid'], name=op.f('fk_bots_account_sid_accounts')),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_bots'))
    )
    op.create_index(op.f('ix_bots_account_sid'), 'bots', ['account_sid'], unique=False)
    op.create_table('bot_signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_key_sealed', sa.Text(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_bot_signing_keys'))
    )


def downgrade() -> None:
    op.drop_table('bot_signing_keys')
    op.drop_index(op.f('ix_bots_account_sid'), table_name='bots')
    op.drop_table('bots')
