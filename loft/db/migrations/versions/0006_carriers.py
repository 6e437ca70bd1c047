"""carriers: delivery attempts, carrier references, and sends routed to a network carrier

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:00:00.000000

A message handed to a network carrier (SMPP, a Twilio relay) gets a row per hand-off in delivery_attempts, and
the carrier's references of its parts in carrier_references, where delivery reports find it. The outbox's new
carrier column says which carrier's processes run a send (null: any worker, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('delivery_attempts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('message_sid', sa.String(length=34), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('carrier', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_sid'], ['messages.sid'], name=op.f('fk_delivery_attempts_message_sid_messages'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_message_sid'), ['message_sid'], unique=False)
    op.create_table('carrier_references',
    sa.Column('carrier', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('attempt_id', _ID, nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['delivery_attempts.id'],
                            name=op.f('fk_carrier_references_attempt_id_delivery_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('carrier', 'reference', name=op.f('pk_carrier_references'))
    )
    with op.batch_alter_table('carrier_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_references_attempt_id'), ['attempt_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('carrier')
    with op.batch_alter_table('carrier_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_references_attempt_id'))
    op.drop_table('carrier_references')
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_message_sid'))
    op.drop_table('delivery_attempts')
