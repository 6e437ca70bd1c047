"""The simulator carrier: messages land in virtual handsets' inboxes; each handset's settings say how its
"carrier" answers (see ``loft.sim``). Settings belong to the account that made them: they apply to its own
sends and its subaccounts', so one tenant cannot make a phone unreachable for another.

Each received message keeps its channel: ``rcs`` when it comes from an RCS sender (its ``from`` is ``rcs:…``),
else ``mms`` with media and ``sms`` without. An RCS message's ``content`` is what its sender stored under the
message's options' :data:`CONTENT_OPTION`: the template rendered with its variables filled in, as
:func:`loft.content.channels.rcs` picks its RCS type: ``{"type": "twilio/card", ...the type's fields}`` (buttons
with their ids); null for SMS/MMS.

:func:`reaches_rcs` is the simulator's answer to an RCS capability check: the handsets set ``Rcs=true``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Row, insert, select

from loft.db.engine import Conn
from loft.db.prepared import Prepared, among, list_length, values_of
from loft.db.tables import accounts, handset_inbox, handsets
from loft.delivery.carriers.base import Predicted
from loft.kit import dates
from loft.kit.phone import RCS_PREFIX

#: Handset behaviour → (receives the message, delivery report outcome, error code).
BEHAVIORS: dict[str, tuple[bool, str | None, int | None]] = {
    "deliver": (True, "delivered", None),
    "unreachable": (False, "undelivered", 30003),
    "unknown": (False, "undelivered", 30005),
    "landline": (False, "undelivered", 30006),
    "filtered": (False, "undelivered", 30007),
    "no-receipt": (True, None, None),
}
#: A message option: the rendered rich content an RCS message shows on the handset (see the module's docstring).
CONTENT_OPTION = "content"


class Handset(NamedTuple):
    """How a handset answers an account's sends: its behaviour, its delivery report's delay, whether it does RCS."""

    behavior: str
    receipt_delay_ms: int
    rcs: bool


#: A handset nobody set: it receives, its delivery report comes at once, and it has no RCS.
DEFAULT = Handset("deliver", 0, False)


def handset_of(to_addr: str) -> str:
    """The handset a message to ``to_addr`` reaches: the phone itself, also when it is addressed over RCS
    (``rcs:+E164``, as a reply to an RCS handset's message is)."""
    return to_addr.removeprefix(RCS_PREFIX)


def channel_of(from_addr: str, media_urls: Sequence[str]) -> str:
    """The channel a message reaches a handset by: ``rcs`` from an RCS sender, else ``mms`` or ``sms``."""
    if from_addr.startswith(RCS_PREFIX):
        return "rcs"
    return "mms" if media_urls else "sms"


_DELIVER = Prepared(insert(handset_inbox))


@lru_cache(maxsize=256)
def _predicted(outcome: str, delay_ms: int, error_code: int | None) -> Predicted:
    """The report a handset's behaviour predicts (a value: one for every send of the same behaviour)."""
    return Predicted(outcome="delivered" if outcome == "delivered" else "undelivered", delay_ms=delay_ms,
                     error_code=error_code)


@lru_cache(maxsize=None)
def _handsets(numbers: int, senders: int) -> Prepared:
    """The settings that apply to sends of the accounts ``sender…`` to the phones ``number…``: each sending
    account's own, and its parent's (a parent's setting applies to its subaccounts' sends).

    The phones' rows are looked up first (a materialized CTE, which neither SQLite nor PostgreSQL folds into the
    join): nearly always there are none, and the query then costs what the lookup by phone alone did. Planned
    the other way round (the few accounts first, then every phone for each), a batch from 8 accounts took 10×
    longer on SQLite."""
    found = (select(handsets).where(among(handsets.c.phone_number, "number", numbers))
             .cte("found").prefix_with("MATERIALIZED"))
    return Prepared(
        select(accounts.c.sid.label("sender"), found.c.account_sid, found.c.phone_number, found.c.behavior,
               found.c.receipt_delay_ms, found.c.rcs)
        .join_from(found, accounts, (found.c.account_sid == accounts.c.sid)
                   | (found.c.account_sid == accounts.c.parent_sid))
        .where(among(accounts.c.sid, "sender", senders))
    )


async def settings_for(conn: Conn, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], Handset]:
    """How each handset answers each account, by (account SID, phone number), in one query: the account's own
    setting, else its parent's; pairs with neither are left out (the default: ``deliver``, at once)."""
    if not pairs:
        return {}
    numbers = sorted({number for _, number in pairs})
    senders = sorted({sender for sender, _ in pairs})
    found = await conn.execute(_handsets(list_length(len(numbers)), list_length(len(senders))),
                               {**values_of("number", numbers), **values_of("sender", senders)})
    settings: dict[tuple[str, str], Handset] = {}
    for row in sorted(found.all(), key=lambda row: row.account_sid == row.sender):  # the account's own last: wins
        settings[row.sender, row.phone_number] = Handset(row.behavior, row.receipt_delay_ms, bool(row.rcs))
    return settings


async def reaches_rcs(conn: Conn, account_sid: str, to_addr: str) -> bool:
    """Whether the handset ``to_addr`` (``+E164`` or ``rcs:+E164``) supports RCS for ``account_sid``'s sends: the
    simulator's answer to a capability check (its ``Rcs`` setting, the account's own or its parent's)."""
    handset = handset_of(to_addr)
    found = await settings_for(conn, {(account_sid, handset)})
    return found.get((account_sid, handset), DEFAULT).rcs


class SimCarrier:
    """The simulator, a :class:`loft.delivery.carriers.base.LocalCarrier`: where every unrouted message goes."""

    name = "sim"

    async def hand_over_in(self, conn: Conn, sends: Sequence[tuple[Row[Any], Sequence[str]]]
                           ) -> list[Predicted | None]:
        """Each message to its handset's inbox, as the handset's settings for the sending account say (one query
        for the settings, one insert for all)."""
        settings = await settings_for(conn, {(message.account_sid, handset_of(message.to_addr)) for message, _ in sends})
        moment = dates.now()
        received, receipts = [], []
        for message, media_urls in sends:
            handset = handset_of(message.to_addr)
            behavior, delay_ms, _ = settings.get((message.account_sid, handset), DEFAULT)
            receives, outcome, error_code = BEHAVIORS[behavior]
            if receives:
                channel = channel_of(message.from_addr, media_urls)
                content = (message.options or {}).get(CONTENT_OPTION) if channel == "rcs" else None
                received.append({
                    "phone_number": handset, "account_sid": message.account_sid, "message_sid": message.sid,
                    "from_addr": message.from_addr, "body": message.body, "media_urls": list(media_urls),
                    "channel": channel, "content": content, "date_received": moment,
                })
            receipts.append(None if outcome is None else _predicted(outcome, delay_ms, error_code))
        if received:
            await conn.execute_many(_DELIVER, received)
        return receipts
