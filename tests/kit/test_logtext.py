from __future__ import annotations

import pytest

from loft.kit.logtext import printable


@pytest.mark.parametrize(("text", "logged"), [
    pytest.param("/2010-04-01/Accounts/AC1/Messages.json", "/2010-04-01/Accounts/AC1/Messages.json", id="plain"),
    pytest.param("/x\n2025-01-01 INFO admin signed in", "/x\\n2025-01-01 INFO admin signed in", id="newline"),
    pytest.param("a\r\nb\tc", "a\\r\\nb\\tc", id="crlf-tab"),
    pytest.param("\x00\x1b[31m\x7f", "\\x00\\x1b[31m\\x7f", id="nul-escape-del"),
    pytest.param("a\x85b\u2028c\u2029d", "a\\x85b\\u2028c\\u2029d", id="unicode-line-breaks"),
    pytest.param("café ☎ 😀", "café ☎ 😀", id="printable-unicode-kept"),
    pytest.param("\U000e0001", "\\U000e0001", id="astral-format-character"),
])
def test_printable_writes_unprintable_characters_as_escapes(text: str, logged: str) -> None:
    assert printable(text) == logged
    assert len(printable(text).splitlines()) <= 1
