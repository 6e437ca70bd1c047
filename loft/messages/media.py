"""Media content: fetched from the URLs a message names, checked as Twilio checks it, stored and served by Loft.

Twilio accepts up to 5 MB for the image types it transcodes (JPEG, PNG, GIF) and 500 KB for the other
accepted types; anything else is refused with 12300.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Row, select, update

from loft.context import Loft
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.tables import media_content, message_media

IMAGE_LIMIT = 5 * 1024 * 1024
OTHER_LIMIT = 500 * 1024
IMAGES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif"})
ACCEPTED = IMAGES | frozenset({
    "image/bmp", "image/tiff", "image/webp",
    "audio/basic", "audio/l24", "audio/mp4", "audio/mpeg", "audio/ogg", "audio/vorbis", "audio/vnd.rn-realaudio",
    "audio/vnd.wave", "audio/wav", "audio/3gpp", "audio/3gpp2", "audio/ac3", "audio/webm", "audio/amr-nb", "audio/amr",
    "video/mpeg", "video/mp4", "video/quicktime", "video/webm", "video/3gpp", "video/3gpp2", "video/3gpp-tt",
    "video/h261", "video/h263", "video/h263-1998", "video/h263-2000", "video/h264",
    "image/vnd.wap.wbmp", "text/vcard", "text/x-vcard", "text/csv", "text/rtf", "text/richtext", "text/calendar",
    "text/directory", "text/plain", "application/pdf", "application/vcard",
})


def public_url(loft: Loft, row: Row[Any]) -> str:
    """Where the content of a Media resource is served (the Media URI without a suffix, behind auth)."""
    return (f"{loft.settings.base_url}/2010-04-01/Accounts/{row.account_sid}/Messages/{row.message_sid}"
            f"/Media/{row.sid}")


async def fetch_and_store(loft: Loft, message_sid: str) -> list[tuple[str, str]] | int:
    """Fetch every media of the message; its Loft URLs and content types, or Twilio's error code."""
    async with loft.db.read() as conn:
        rows = (
            await conn.execute(
                select(message_media).where(message_media.c.message_sid == message_sid)
                .order_by(message_media.c.position)
            )
        ).all()
    fetched: list[tuple[Row[Any], bytes, str]] = []
    for row in rows:
        try:
            response = await loft.http.get(row.url, follow_redirects=True, timeout=15)
        except httpx.HTTPError:
            return 11200
        if response.status_code >= 400:
            return 11200
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED:
            return 12300
        if len(response.content) > (IMAGE_LIMIT if content_type in IMAGES else OTHER_LIMIT):
            return 11751
        fetched.append((row, response.content, content_type))
    async with loft.db.write() as conn:
        for row, content, content_type in fetched:
            await store(conn, row.sid, content)
            await conn.execute(
                update(message_media).where(message_media.c.sid == row.sid).values(content_type=content_type)
            )
    return [(public_url(loft, row), content_type) for row, _, content_type in fetched]


async def fetch_outbound(loft: Loft, message: Row[Any]) -> list[str] | int:
    result = await fetch_and_store(loft, message.sid)
    return result if isinstance(result, int) else [url for url, _ in result]


async def store(conn: Conn, media_sid: str, content: bytes) -> None:
    await upsert.insert_ignore(conn, media_content, media_sid=media_sid, content=content)


async def content(conn: Conn, media_sid: str) -> bytes | None:
    data: bytes | None = (
        await conn.execute(select(media_content.c.content).where(media_content.c.media_sid == media_sid))
    ).scalar()
    return data
