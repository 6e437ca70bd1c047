"""The official twilio SDK, unchanged, pointed at Loft (its ``api``, ``messaging`` and ``content`` domains); every
response it gets is checked against the spec of its domain."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from tests.support import openapi


class SpecCheckingHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client; after each request the response is validated against Twilio's spec."""

    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.checked = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        path = urlsplit(url).path
        if (path.startswith("/2010-04-01/") and path.endswith(".json")) or path.startswith(("/v1/", "/v2/")):
            openapi.check(method, path, response.status_code, response.text)
            self.checked += 1
        return response


def sdk(base_url: str, username: str, password: str, account_sid: str | None = None) -> Client:
    client = Client(username, password, account_sid, http_client=SpecCheckingHttpClient())
    client.api.base_url = base_url
    client.messaging.base_url = base_url
    client.content.base_url = base_url
    return client


def checked(response: httpx.Response) -> httpx.Response:
    """For raw httpx calls: validate a JSON response the same way."""
    path = response.request.url.path
    if path.endswith(".json") or path.startswith(("/v1/", "/v2/")):
        openapi.check(response.request.method, path, response.status_code, response.text)
    return response
