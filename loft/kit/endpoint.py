"""A resource endpoint's skeleton, written once: authenticate, read the parameters, run the endpoint's own work in
a transaction, answer once that transaction is over.

An endpoint is then only its work, ``async def work(call: Call) -> Answer``, routed with :func:`route`::

    async def fetch_application(call: Call) -> Answer:
        row = await service.get(call.conn, call.account, call.path_params["sid"])
        return render.Resource(service.render(row), xml_tag="Application")

    routes = [endpoint.route(_BASE + "/{sid}", fetch_application)]

- **Who**: by default the account of the path's ``{account_sid}``, which the credential must reach
  (:func:`loft.accounts.auth.account_in_path`); the v1 domains have no account in their paths and act for the
  credential's own account (``who=auth.principal``).
- **Parameters**: a ``POST``'s form body, otherwise the query string (:attr:`Call.params`); path parameters are
  ``call.path_params``. The JSON APIs (Content v1, messaging v2: ``json=True``) read a ``POST``'s or ``PUT``'s
  body as one JSON object instead, :attr:`Call.document` (:mod:`loft.kit.jsonbody`), and ``params`` is then the
  query string.
- **Transaction**: a write for any method but ``GET``, a read for ``GET``. The endpoint owns it: the work's
  services only read and write, and an error the work raises rolls everything back.
- **After the commit**: ``wakes=True`` wakes this process's worker, for the jobs the work left in the outbox.
- **Answer**: anything with ``response(request)`` — :class:`loft.kit.render.Resource`, ``Page``, ``Unpaged`` and
  ``NoContent`` (2010-04-01, JSON or XML), ``Json`` and ``Content`` (Loft's own JSON, a media file's bytes),
  :class:`loft.kit.v1.Resource` (v1) — rendered after the commit, so that what the client is told has been
  committed.

Every resource endpoint is written this way but a few, each saying why: the message create (the hot path: its
body read once, its write batched with others', :mod:`loft.messages.endpoints`), a number's move (a second
account to authorize before the transaction), the simulator clock's advance (it waits for every process after
its commit); and the endpoints that are not a client's resources but other parties' protocols: the relay's
webhooks from upstream Twilio (:mod:`loft.carriers.endpoints`) and the Bot Framework connector
(:mod:`loft.bots.endpoints`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.kit import forms, jsonbody, v1

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Answer(Protocol):
    """What an endpoint's work returns: its HTTP answer, made once the transaction is over."""

    def response(self, request: Request) -> Response: ...


@dataclass(frozen=True, slots=True)
class Call:
    """One request to a resource endpoint, as its work sees it."""

    request: Request
    #: The account the request acts for (see the module's docstring).
    account: Account
    #: The ``POST`` form, or the query string of any other method.
    params: forms.Form
    #: A connection in the endpoint's transaction.
    conn: Conn
    #: The JSON body of a ``POST`` or ``PUT`` to a JSON API (``route(..., json=True)``); empty otherwise.
    document: Mapping[str, Any]

    @property
    def loft(self) -> Loft:
        return context.of(self.request)

    @property
    def path_params(self) -> Mapping[str, str]:
        params: Mapping[str, str] = self.request.path_params
        return params

    @property
    def origin(self) -> str:
        """Where the client reaches Loft, for the v1 domains' absolute URLs (:func:`loft.kit.v1.origin`)."""
        return v1.origin(self.request, self.loft.settings.public_url)


Work = Callable[[Call], Awaitable[Answer]]
Who = Callable[[Request], Awaitable[Account]]


def route(path: str, work: Work, *, method: str = "GET", who: Who = auth.account_in_path, json: bool = False,
          wakes: bool = False) -> Route:
    """A Starlette route for ``method`` on ``path`` that runs ``work`` for the account ``who`` finds; ``json``:
    the body is a JSON object (:attr:`Call.document`), not a form; ``wakes``: the work may leave jobs in the
    outbox, and this process's worker is woken for them once they are committed."""
    writes = method != "GET"
    reads_json = json and method in ("POST", "PUT")

    async def endpoint(request: Request) -> Response:
        account = await who(request)
        document: Mapping[str, Any] = await jsonbody.read(request) if reads_json else _EMPTY
        params = (await forms.read(request) if method == "POST" and not json
                  else forms.Form(request.query_params.multi_items()))
        db = context.of(request).db
        async with (db.write() if writes else db.read()) as conn:
            answer = await work(Call(request, account, params, conn, document))
        if wakes:
            context.of(request).wake()
        return answer.response(request)

    endpoint.__name__ = endpoint.__qualname__ = work.__name__
    return Route(path, endpoint, methods=[method])
