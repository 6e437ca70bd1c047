"""The private parts of httpx and httpx-aiohttp that Loft's outbound requests use (:mod:`loft.outbound`,
:mod:`loft.webhooks.sender`, :mod:`loft.messages.media`), and nothing else.

Checked against httpx 0.29.0 and httpx-aiohttp 0.2.0 (pins in pyproject.toml; tests/test_adapters.py):

- httpx: ``AsyncClient._transport``, the transport a client without proxy mounts sends through
  (:func:`transport_of`). httpx has no public accessor for it.
- httpx-aiohttp: ``AiohttpTransport.client``, which holds the session factory it was given until its first request
  and the :class:`aiohttp.ClientSession` it made from then on, and ``AiohttpTransport.get_client()``, which makes it
  (:func:`session_of`).
- httpx-aiohttp: ``httpx_aiohttp.transport.map_aiohttp_exceptions`` (not exported by the package), which turns
  aiohttp's errors into httpx's (:func:`errors_as_httpx`).
- httpx-aiohttp: how the transport turns httpx's ``timeout`` request extension into aiohttp's
  :class:`~aiohttp.ClientTimeout` (``sock_connect`` from ``connect``, ``sock_read`` from ``read``, ``connect``
  from ``pool``), written inline in ``handle_async_request`` and reproduced by :func:`aiohttp_timeout`.

Why use them: a webhook without credentials goes straight to the aiohttp session under the transport, without
httpx's request and response objects around it (they cost as much as the exchange: two status callbacks per
message); it must behave exactly as if it had gone through the transport (same session and connections, same
errors, same timeouts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions


def transport_of(client: httpx.AsyncClient) -> httpx.AsyncBaseTransport:
    """The transport ``client`` sends its requests through (it mounts no proxies)."""
    transport: httpx.AsyncBaseTransport = client._transport
    return transport


def session_of(transport: AiohttpTransport) -> aiohttp.ClientSession:
    """The aiohttp session ``transport`` sends on: made now if the transport has not sent anything yet, and kept
    by the transport, which then sends on it too."""
    if not isinstance(transport.client, aiohttp.ClientSession):
        transport.client = transport.get_client()
    session = transport.client
    assert isinstance(session, aiohttp.ClientSession)
    return session


@contextmanager
def errors_as_httpx() -> Iterator[None]:
    """aiohttp's errors raised in the block, raised as the httpx errors the transport would raise for them."""
    with map_aiohttp_exceptions():
        yield


def aiohttp_timeout(timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """What the transport makes of a request's ``timeout`` extension (``httpx.Timeout(...).as_dict()``)."""
    return aiohttp.ClientTimeout(sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read"),
                                 connect=timeouts.get("pool"))
