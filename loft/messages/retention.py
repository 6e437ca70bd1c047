"""``ContentRetention=discard`` and ``AddressRetention=obfuscate``: what a message created with them keeps once it
is final (``delivered``, ``undelivered``, ``failed``, ``canceled``, ``read``: ``loft.delivery.lifecycle.FINAL``).

Twilio documents the two parameters (privacy settings: may the content be stored, may the address) but not what
the message resource shows afterwards. Loft's choice, documented in ``docs/compatibility.md``:

- **discard**: the body is erased when the message reaches a final status, as ``POST …/Messages/{Sid}.json
  Body=`` redacts it (``body`` is ``""``); until then it is kept, since it is what is being sent. Its media stay
  until they are deleted (``DELETE …/Media/{Sid}.json``), as with a redaction.
- **obfuscate**: the recipient's address keeps all but its last four digits, each an ``X`` (``+14155550123`` →
  ``+1415555XXXX``), at the same moment. A list filtered by that ``To`` no longer finds it, and a Messaging
  Service's sticky sender does not recognise the recipient by it.

The status callback of the move that makes it final names the real recipient (the account that sent it knows
it); one made later (an RCS message's ``read``) names it as the message shows it then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The option each create parameter is stored as (``messages.options``), and the value that asks for it.
DISCARD = ("content_retention", "discard")
OBFUSCATE = ("address_retention", "obfuscate")
#: How many of an address's last digits obfuscation hides.
HIDDEN_DIGITS = 4


def erased(options: Mapping[str, Any], to_addr: str) -> dict[str, Any]:
    """The columns a message created with ``options`` changes once it is final (the status machine,
    :func:`loft.delivery.lifecycle.erased`, says when): nothing unless it asked to discard its content or
    obfuscate its address."""
    values: dict[str, Any] = {}
    if options.get(DISCARD[0]) == DISCARD[1]:
        values["body"] = ""
    if options.get(OBFUSCATE[0]) == OBFUSCATE[1]:
        values["to_addr"] = obfuscated(to_addr)
    return values


def obfuscated(address: str) -> str:
    """``address`` with its last :data:`HIDDEN_DIGITS` digits each an ``X``; an ``X`` counts as a digit hidden
    already, so that a message that moves on once final (an RCS message ``delivered``, then ``read``) is not
    obfuscated further."""
    hidden = 0
    characters = list(address)
    for index in range(len(characters) - 1, -1, -1):
        if hidden == HIDDEN_DIGITS:
            break
        if characters[index].isdigit() or characters[index] == "X":
            characters[index] = "X"
            hidden += 1
    return "".join(characters)
