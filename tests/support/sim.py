"""The simulator API (``/sim/v1``) as the tests use it, and a message's status through the SDK."""

from __future__ import annotations

from typing import Any

import httpx
from twilio.rest import Client

from tests.support import openapi


class Sim:
    """The simulator API (``/sim/v1``) with the test account's credentials."""

    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=30)

    def text(self, handset: str, to: str, body: str = "", media: list[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"To": to, "Body": body}
        if media:
            data["MediaUrl"] = media
        response = self.http.post(f"/sim/v1/Handsets/{handset}/Messages", data=data)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def inbox(self, handset: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/sim/v1/Handsets/{handset}/Messages")
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def configure(self, handset: str, **settings: Any) -> dict[str, Any]:
        response = self.http.post(f"/sim/v1/Handsets/{handset}", data=settings)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def clock(self) -> dict[str, Any]:
        """``GET /sim/v1/Clock``: ``{"now", "offset_seconds"}``, checked against Loft's own document."""
        return self._clock(self.http.get("/sim/v1/Clock"))

    def advance(self, seconds: int) -> dict[str, Any]:
        """``POST /sim/v1/Clock``: move the clock ``seconds`` ahead (the main account's credentials only)."""
        return self._clock(self.http.post("/sim/v1/Clock", data={"AdvanceSeconds": str(seconds)}))

    @staticmethod
    def _clock(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        reading: dict[str, Any] = response.json()
        openapi.check_own("/sim/v1/Clock", response.request.method, 200, reading)
        return reading

    def webhooks(self, account_sid: str, message_sid: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/loft/v1/Accounts/{account_sid}/Messages/{message_sid}/Webhooks")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["webhooks"]
        return found


def status_of(client: Client, sid: str) -> str:
    return str(client.messages(sid).fetch().status)
