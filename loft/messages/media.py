"""Media content: fetched from the URLs a message names, checked as Twilio checks it, stored and served by Loft.

Twilio accepts up to 5 MB for the image types it transcodes (JPEG, PNG, GIF) and 500 KB for the other
accepted types, and 5 MB for all the media of a message together; anything else is refused with 12300, and
too much with 11751. Over RCS (a message from an ``rcs:`` sender) the limit is 16 MB, for each medium and for the
message (:data:`RCS`).

A fetch is bounded before it starts and while it runs, whoever serves the media: it leaves through the outbound
guard (:mod:`loft.outbound`: a denied address, also after a redirect, fails with 11200), follows at most
:data:`MAX_REDIRECTS` redirects (each a fresh ``GET`` without a body), refuses a ``Content-Length`` over the
limit before reading, stops reading at the limit, and gives up when ``LOFT_MEDIA_FETCH_SECONDS`` have passed
since it started (not since the last byte). At most :data:`loft.context.FETCHING` messages' media are fetched at once per
process, so a burst of MMS holds at most that many times 5 MB in memory. Media already stored (a send taken
over after its first worker stored them) are not fetched again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from sqlalchemy import Row, select, update

from loft import outbound
from loft.context import Loft
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.tables import media_content, message_media
from loft.kit.phone import RCS_PREFIX

IMAGE_LIMIT = 5 * 1024 * 1024
OTHER_LIMIT = 500 * 1024
#: All the media of one message together.
MESSAGE_LIMIT = 5 * 1024 * 1024
RCS_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How large a channel's media may be: an image Twilio transcodes, any other medium, a message's together."""

    image: int
    other: int
    message: int


MMS = Limits(IMAGE_LIMIT, OTHER_LIMIT, MESSAGE_LIMIT)
RCS = Limits(RCS_LIMIT, RCS_LIMIT, RCS_LIMIT)
MAX_REDIRECTS = 5
RETRIEVAL_FAILURE = 11200
TOO_LARGE = 11751
INVALID_CONTENT_TYPE = 12300
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


async def fetch_and_store(loft: Loft, message_sid: str, limits: Limits = MMS) -> list[tuple[str, str]] | int:
    """Fetch every media of the message; its Loft URLs and content types, or Twilio's error code."""
    async with loft.db.read() as conn:
        rows = (
            await conn.execute(
                select(message_media, media_content.c.media_sid.label("stored"))
                .outerjoin(media_content, media_content.c.media_sid == message_media.c.sid)
                .where(message_media.c.message_sid == message_sid)
                .order_by(message_media.c.position)
            )
        ).all()
    if rows and all(row.stored is not None for row in rows):  # stored by an earlier try (all of them or none)
        return [(public_url(loft, row), row.content_type) for row in rows]
    fetched: list[tuple[Row[Any], bytes, str]] = []
    async with loft.media_fetches:
        room = limits.message
        for row in rows:
            got = await fetch(loft.http, row.url, room=room, seconds=loft.settings.media_fetch_seconds,
                              limits=limits)
            if isinstance(got, int):
                return got
            content, content_type = got
            room -= len(content)
            fetched.append((row, content, content_type))
        async with loft.db.write() as conn:
            for row, content, content_type in fetched:
                await store(conn, row.sid, content)
                await conn.execute(
                    update(message_media).where(message_media.c.sid == row.sid).values(content_type=content_type)
                )
    return [(public_url(loft, row), content_type) for row, _, content_type in fetched]


async def fetch(client: httpx.AsyncClient, url: str, *, room: int, seconds: float,
                limits: Limits = MMS) -> tuple[bytes, str] | int:
    """The content and content type at ``url`` (at most ``room`` bytes), or the error code of the failure."""
    try:
        async with asyncio.timeout(seconds):
            for _ in range(MAX_REDIRECTS + 1):
                # A fresh GET for every hop: no body, no content type (httpx's own redirects re-send the first
                # request's empty stream as a chunked body, which desynchronises a kept-alive connection).
                request = httpx.Request("GET", url, headers={"User-Agent": outbound.USER_AGENT, "Accept": "*/*",
                                                             "Accept-Encoding": "identity"},
                                        extensions={"timeout": {"connect": seconds, "read": seconds,
                                                                "write": seconds, "pool": seconds}})
                response = await outbound.transport(client).handle_async_request(request)
                try:
                    if response.is_redirect:
                        url = str(request.url.join(response.headers["location"]))
                        if not url.startswith(("http://", "https://")):
                            return RETRIEVAL_FAILURE
                        continue
                    return await _content(response, room, limits)
                finally:
                    await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return RETRIEVAL_FAILURE
    return RETRIEVAL_FAILURE  # too many redirects


async def _content(response: httpx.Response, room: int, limits: Limits) -> tuple[bytes, str] | int:
    """The body of a final answer, read only while it stays within the limits."""
    if not 200 <= response.status_code < 300:
        return RETRIEVAL_FAILURE
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED:
        return INVALID_CONTENT_TYPE
    limit = min(limits.image if content_type in IMAGES else limits.other, room)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return TOO_LARGE
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) > limit:
            return TOO_LARGE
    return bytes(content), content_type


async def fetch_outbound(loft: Loft, message: Row[Any]) -> list[str] | int:
    """The media of an outbound message, fetched (within its channel's limits) and stored: their Loft URLs."""
    limits = RCS if message.from_addr.startswith(RCS_PREFIX) else MMS
    result = await fetch_and_store(loft, message.sid, limits)
    return result if isinstance(result, int) else [url for url, _ in result]


async def store(conn: Conn, media_sid: str, content: bytes) -> None:
    await upsert.insert_ignore(conn, media_content, media_sid=media_sid, content=content)


async def content(conn: Conn, media_sid: str) -> bytes | None:
    data: bytes | None = (
        await conn.execute(select(media_content.c.content).where(media_content.c.media_sid == media_sid))
    ).scalar()
    return data
