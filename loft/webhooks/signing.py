"""X-Twilio-Signature: the HMAC-SHA1 Twilio puts on every webhook request, as twilio-python validates it.

The signed string is the URL exactly as given (query string included) followed by, for each parameter name in
code-point order, that name's distinct values in sorted order, each appended as ``name + value`` with no
delimiter. The key is the account's auth token; the header value is the base64 of the 20-byte digest. A GET
request carries its parameters in the URL, so it is signed with ``params`` empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

HEADER = "X-Twilio-Signature"


def signed_string(url: str, params: Sequence[tuple[str, str]]) -> str:
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    return url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    # hmac.digest: the one-shot C implementation (hmac.new builds the inner and outer hashes in Python).
    digest = hmac.digest(auth_token.encode("utf-8"), signed_string(url, params).encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest).decode("ascii")
