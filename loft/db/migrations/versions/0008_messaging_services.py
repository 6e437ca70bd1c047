"""messaging services: Messaging Services (MG…) and their sender pools

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00.000000

The messaging v1 API's Services, and one table for the senders of their pools (phone numbers, short codes,
alphanumeric senders, channel senders). A pool's phone number leaves it when the number is released (and with
its service): both are foreign keys ON DELETE CASCADE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('messaging_services',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('friendly_name', sa.String(length=64), nullable=False),
    sa.Column('inbound_request_url', sa.Text(), nullable=True),
    sa.Column('inbound_method', sa.String(length=4), nullable=False),
    sa.Column('fallback_url', sa.Text(), nullable=True),
    sa.Column('fallback_method', sa.String(length=4), nullable=False),
    sa.Column('status_callback', sa.Text(), nullable=True),
    sa.Column('sticky_sender', sa.Boolean(), nullable=False),
    sa.Column('mms_converter', sa.Boolean(), nullable=False),
    sa.Column('smart_encoding', sa.Boolean(), nullable=False),
    sa.Column('scan_message_content', sa.String(length=8), nullable=False),
    sa.Column('fallback_to_long_code', sa.Boolean(), nullable=False),
    sa.Column('area_code_geomatch', sa.Boolean(), nullable=False),
    sa.Column('validity_period', sa.Integer(), nullable=False),
    sa.Column('synchronous_validation', sa.Boolean(), nullable=False),
    sa.Column('usecase', sa.String(length=16), nullable=False),
    sa.Column('use_inbound_webhook_on_number', sa.Boolean(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid'],
                            name=op.f('fk_messaging_services_account_sid_accounts')),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_messaging_services'))
    )
    with op.batch_alter_table('messaging_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messaging_services_account_sid'), ['account_sid'], unique=False)
    op.create_table('messaging_service_senders',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('service_sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('number_sid', sa.String(length=34), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['number_sid'], ['incoming_phone_numbers.sid'],
                            name=op.f('fk_messaging_service_senders_number_sid_incoming_phone_numbers'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_sid'], ['messaging_services.sid'],
                            name=op.f('fk_messaging_service_senders_service_sid_messaging_services'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_messaging_service_senders'))
    )
    with op.batch_alter_table('messaging_service_senders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messaging_service_senders_number_sid'), ['number_sid'], unique=False)
        batch_op.create_index('ix_messaging_service_senders_service_kind',
                              ['service_sid', 'kind', 'date_created', 'sid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('messaging_service_senders', schema=None) as batch_op:
        batch_op.drop_index('ix_messaging_service_senders_service_kind')
        batch_op.drop_index(batch_op.f('ix_messaging_service_senders_number_sid'))
    op.drop_table('messaging_service_senders')
    with op.batch_alter_table('messaging_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messaging_services_account_sid'))
    op.drop_table('messaging_services')
