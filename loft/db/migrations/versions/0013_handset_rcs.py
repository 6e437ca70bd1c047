"""handset RCS: the simulator's handsets support RCS or not; their inbox keeps each message's channel and content

Revision ID: 0013_handset_rcs
Revises: 0012_sticky_senders
Create Date: 2026-12-05 22:00:00.000000

``handsets.rcs`` (``POST /sim/v1/Handsets/{Phone}`` ``Rcs=true``): whether the handset can receive RCS and tap
its buttons. ``handset_inbox.channel`` (``sms``, ``mms`` or ``rcs``) and ``handset_inbox.content`` (the rendered
rich content of an RCS message, null otherwise): what ``GET …/Messages`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_handset_rcs'
down_revision: str | None = '0012_sticky_senders'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('handsets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rcs', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('handset_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('content', sa.JSON(), nullable=True))
    # Messages received before: MMS when they had media.
    op.execute("UPDATE handset_inbox SET channel = 'mms' WHERE media_urls IS NOT NULL "
               "AND CAST(media_urls AS TEXT) NOT IN ('[]', '')")


def downgrade() -> None:
    with op.batch_alter_table('handset_inbox', schema=None) as batch_op:
        batch_op.drop_column('content')
        batch_op.drop_column('channel')
    with op.batch_alter_table('handsets', schema=None) as batch_op:
        batch_op.drop_column('rcs')
