"""account scoping: handset settings belong to the account that made them; closed accounts own no numbers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

Handset settings were global: any credential could make a phone unreachable for every account's sends. Each
row now names the account that made it (its setting applies to that account's sends and its subaccounts').
Existing rows become the main account's, so an installation with one account tree keeps behaving as before;
rows made while no account is marked main (none can exist: setting one needs credentials) would be dropped.

Closing an account now releases its numbers (as Twilio releases a closed subaccount's): the numbers of
accounts closed before this revision are released here, so they take no more inbound messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _settings() -> list[sa.ColumnClause[object]]:
    """The columns of a handset setting other than its owner (new objects: a column belongs to one table)."""
    return [sa.column('phone_number', sa.String), sa.column('behavior', sa.String),
            sa.column('receipt_delay_ms', sa.Integer), sa.column('date_created', sa.DateTime(timezone=True)),
            sa.column('date_updated', sa.DateTime(timezone=True))]


_OLD = sa.table('handsets', *_settings())
_ACCOUNTS = sa.table('accounts', sa.column('sid', sa.String), sa.column('status', sa.String),
                     sa.column('is_main', sa.Boolean), sa.column('date_created', sa.DateTime(timezone=True)))
_NUMBERS = sa.table('incoming_phone_numbers', sa.column('account_sid', sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    # A few rows at most (each is a setting somebody made by hand): read, and written back with their owner.
    kept = [row._asdict() for row in connection.execute(sa.select(_OLD)).all()]
    main = connection.execute(sa.select(_ACCOUNTS.c.sid).where(_ACCOUNTS.c.is_main.is_(True))
                              .order_by(_ACCOUNTS.c.date_created).limit(1)).scalar()
    op.drop_table('handsets')
    handsets = op.create_table('handsets',
    sa.Column('phone_number', sa.String(length=32), nullable=False),
    sa.Column('account_sid', sa.String(length=34), nullable=False),
    sa.Column('behavior', sa.String(length=16), nullable=False),
    sa.Column('receipt_delay_ms', sa.Integer(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_sid'], ['accounts.sid'], name=op.f('fk_handsets_account_sid_accounts')),
    sa.PrimaryKeyConstraint('phone_number', 'account_sid', name=op.f('pk_handsets'))
    )
    if kept and main is not None:
        op.bulk_insert(handsets, [{**row, 'account_sid': main} for row in kept])
    closed = sa.select(_ACCOUNTS.c.sid).where(_ACCOUNTS.c.status == 'closed')
    connection.execute(sa.delete(_NUMBERS).where(_NUMBERS.c.account_sid.in_(closed)))


def downgrade() -> None:
    # Back to one global setting per phone: the main account's rows win, then the most recently updated.
    connection = op.get_bind()
    scoped = sa.table('handsets', *_settings(), sa.column('account_sid', sa.String))
    rows = connection.execute(sa.select(*(scoped.c[name] for name in _OLD.c.keys()), _ACCOUNTS.c.is_main)
                              .join_from(scoped, _ACCOUNTS, _ACCOUNTS.c.sid == scoped.c.account_sid)).all()
    chosen: dict[str, dict[str, object]] = {}
    for row in sorted(rows, key=lambda r: (bool(r.is_main), r.date_updated)):
        chosen[row.phone_number] = {key: value for key, value in row._asdict().items() if key != 'is_main'}
    op.drop_table('handsets')
    handsets = op.create_table('handsets',
    sa.Column('phone_number', sa.String(length=32), nullable=False),
    sa.Column('behavior', sa.String(length=16), nullable=False),
    sa.Column('receipt_delay_ms', sa.Integer(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone_number', name=op.f('pk_handsets'))
    )
    if chosen:
        op.bulk_insert(handsets, list(chosen.values()))
