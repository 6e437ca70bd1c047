"""writing a message no longer locks its account's row (PostgreSQL): ``messages.account_sid`` is not a foreign key
there

Revision ID: 0017_messages_lock_no_account
Revises: 0016_listeners
Create Date: 2026-12-06 10:00:00.000000

PostgreSQL checks a foreign key by locking the referenced row (``SELECT … FOR KEY SHARE``) in the inserting
transaction, until it ends. Every transaction that wrote a message (a batch of creates, an inbound message) locked
its account's row: for most deployments, one row, the main account's, locked by every API process at once, which
PostgreSQL records as a multixact (a shared lock of several transactions), a write of the row's page and a record
in its log each time; end to end, one lookup and one trigger per message. Accounts are never deleted (Twilio
closes them), and every message is written for an account the request authenticated, so the key guarded nothing
that happens. SQLite has no row locks: its key stays.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017_messages_lock_no_account'
down_revision: str | None = '0016_listeners'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_messages_account_sid_accounts", "messages", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key("fk_messages_account_sid_accounts", "messages", "accounts", ["account_sid"], ["sid"])
