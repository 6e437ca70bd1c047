"""Fixtures of the carriers' tests: a front Loft relaying ``+44`` to an upstream Loft that stands in for Twilio."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing

import pytest

from tests.conftest import fresh_database, make_server
from tests.support import relay
from tests.support.relay import Line
from tests.support.server import LoftServer


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[LoftServer, LoftServer]]:
    """(upstream, front): the front on the parameter's backend, relaying ``+44`` to the upstream."""
    root = tmp_path_factory.mktemp(f"relay-{request.param}")
    with ExitStack() as stack:
        url = (stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
               if request.param == "postgres" else None)
        upstream = make_server(root / "upstream")
        front = make_server(root / "front", url)
        front.extra_env = relay.front_env(front, relay.carriers_file(root / "carriers.toml", upstream))
        stack.enter_context(upstream.running())
        stack.enter_context(front.running())
        yield upstream, front


@pytest.fixture
def upstream(pair: tuple[LoftServer, LoftServer]) -> LoftServer:
    return pair[0]


@pytest.fixture
def front(pair: tuple[LoftServer, LoftServer]) -> LoftServer:
    return pair[1]


@pytest.fixture
def stack() -> Iterator[Callable[[Line], Line]]:
    """Lines a test opens itself, closed after it."""
    with ExitStack() as lines:
        yield lambda line: lines.enter_context(closing(line))


@pytest.fixture
def line(upstream: LoftServer, front: LoftServer) -> Iterator[Line]:
    with closing(relay.open_line(upstream, front)) as opened:
        yield opened
