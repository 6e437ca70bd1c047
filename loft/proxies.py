"""Requests that come through a TLS proxy: believe its ``X-Forwarded-Proto`` (and ``X-Forwarded-For``), but only
from the addresses ``LOFT_TRUSTED_PROXIES`` names.

Behind such a proxy the request's scheme becomes the one the client used, so that what depends on it is right:
the console's cookies are ``Secure`` when the browser spoke HTTPS to the proxy. From any other address the
headers are ignored: a client talking to Loft directly cannot claim HTTPS (or another address) with them.
uvicorn's own middleware does the work (it also takes the client's address from ``X-Forwarded-For``); uvicorn's
server option for it stays off (``proxy_headers=False`` in ``loft serve``), so there is exactly one place that
decides.
"""

from __future__ import annotations

from typing import Any, cast

from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def behind(app: ASGIApp, trusted: str) -> ASGIApp:
    """``app``, reading the proxy headers of requests from the ``trusted`` addresses (comma-separated IPs and
    networks, validated by the settings); ``app`` itself when there are none."""
    if not trusted:
        return app
    # Starlette's and uvicorn's ASGI type aliases differ only in spelling.
    return cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=trusted.split(",")))
