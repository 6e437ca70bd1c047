"""The bare ASGI baseline: Starlette + uvicorn, one route that parses a form POST and answers JSON.

It is started as ``loft serve`` starts uvicorn (``uvicorn.run(app, host, port, log_level, proxy_headers=False,
access_log=…)``: default loop and HTTP implementation, i.e. uvloop and httptools when installed; access lines
made only at a level that writes them, as ``loft.serving.writes_access_lines`` tells uvicorn for Loft), so
``wrk`` against it measures the ceiling of an ASGI hot path on this machine. It parses the body the way Loft
does (``urllib.parse.parse_qsl``) and answers 201 with a small JSON object.

With ``--processes N`` (N > 1) uvicorn runs N worker processes on the port (its own supervisor: one socket,
shared), so that the baseline gets as many processes as the ``loft serve`` it is compared with.

    python -m bench.baseline --port 8090 [--processes 2]
"""

from __future__ import annotations

import argparse
import secrets
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def create(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    return JSONResponse(
        {"sid": "SM" + secrets.token_hex(16), "account_sid": request.path_params["account_sid"],
         "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"), "status": "queued"},
        status_code=201,
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[
    Route("/healthz", health),
    Route("/2010-04-01/Accounts/{account_sid}/Messages.json", create, methods=["POST"]),
])


def makes_access_lines(log_level: str) -> bool:
    """Whether uvicorn is to make access lines at ``log_level``: as for ``loft serve``
    (``loft.serving.writes_access_lines``; a test holds the two to the same answers), only at a level that
    writes them, since uvicorn computes a line's arguments before its logger drops it."""
    return log_level.lower() in ("info", "debug", "trace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    access_log = makes_access_lines(args.log_level)
    if args.processes > 1:
        uvicorn.run("bench.baseline:app", host="127.0.0.1", port=args.port, log_level=args.log_level,
                    proxy_headers=False, access_log=access_log, workers=args.processes)
    else:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, proxy_headers=False,
                    access_log=access_log)


if __name__ == "__main__":
    main()
