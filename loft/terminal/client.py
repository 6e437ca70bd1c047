"""A tiny synchronous client for Loft's REST API, as the terminal tools use it.

Requests are form-encoded POSTs and GETs with HTTP Basic auth (an account SID and auth token, or an API key
SID and secret); answers are JSON. Errors are translated here, once::

    TerminalError                  anything a terminal tool reports to its user and stops on
    ├── ApiError                   Loft answered with an error (Twilio's body: code, message, more_info, status)
    └── NoAnswer                   Loft could not be reached, or stopped answering mid-request
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

#: Where ``loft serve`` listens by default.
DEFAULT_URL = "http://127.0.0.1:8080"

Form = Mapping[str, "str | Sequence[str]"]


class TerminalError(Exception):
    """A failure to show the user as one clean line (no traceback)."""


class ApiError(TerminalError):
    def __init__(self, status: int, code: int | None, message: str, more_info: str | None = None,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.more_info = more_info
        #: Seconds to wait before trying again, from a 429's ``Retry-After`` header.
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        prefix = f"Error {self.code}: " if self.code is not None else ""
        text = f"{prefix}{self.message} (HTTP {self.status})"
        if self.status == 401:
            text += " - check the account SID and auth token (or API key and secret)"
        return text


class NoAnswer(TerminalError):
    def __init__(self, message: str, *, maybe_received: bool) -> None:
        super().__init__(message)
        #: False when the request certainly never reached Loft (the connection was refused): safe to retry.
        self.maybe_received = maybe_received


def quoted(segment: str) -> str:
    """A path segment with everything escaped (``+`` of an E.164 number becomes ``%2B``)."""
    return quote(segment, safe="")


class LoftClient:
    """One Loft server, one set of credentials, acting on one account (the ``{AccountSid}`` of paths)."""

    def __init__(self, base_url: str, username: str, password: str, account_sid: str, *,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self._http = httpx.Client(base_url=self.base_url, auth=(username, password), timeout=timeout,
                                  transport=transport, headers={"User-Agent": "loft-terminal"})

    def __enter__(self) -> LoftClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: types.TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def api(self, path: str) -> str:
        """The 2010-04-01 path of a resource of this client's account: ``api("Messages.json")``."""
        return f"/2010-04-01/Accounts/{self.account_sid}/{path}"

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def post(self, path: str, data: Form) -> dict[str, Any]:
        return self._request("POST", path, data={key: value for key, value in data.items()})

    def pages(self, path: str, params: Mapping[str, str | int] | None = None, *, key: str,
              max_pages: int | None = None) -> Iterator[dict[str, Any]]:
        """The records of a list, page after page (following ``next_page_uri``), at most ``max_pages``."""
        page = self.get(path, params)
        count = 1
        while True:
            yield from page.get(key, [])
            following = page.get("next_page_uri")
            if not following or (max_pages is not None and count >= max_pages):
                return
            page = self.get(following)
            count += 1

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise NoAnswer(f"Cannot reach Loft at {self.base_url}: {exc}", maybe_received=False) from exc
        except httpx.TransportError as exc:
            raise NoAnswer(f"No answer from Loft at {self.base_url} ({type(exc).__name__}: {exc})",
                           maybe_received=True) from exc
        if response.status_code >= 400:
            raise error_of(response)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, None, f"Loft answered something that is not JSON: "
                           f"{response.text[:200]!r}") from exc
        if not isinstance(body, dict):
            raise ApiError(response.status_code, None, "Loft answered JSON that is not an object")
        return body


def error_of(response: httpx.Response) -> ApiError:
    """Twilio's error body (``{code, message, more_info, status}``) as an :class:`ApiError`."""
    retry_after = _seconds(response.headers.get("Retry-After"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        code = body.get("code")
        return ApiError(response.status_code, code if isinstance(code, int) else None, str(body["message"]),
                        body.get("more_info"), retry_after)
    text = response.text.strip()[:200] or response.reason_phrase
    return ApiError(response.status_code, 20429 if response.status_code == 429 else None, text,
                    retry_after=retry_after)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back on our own back-off
