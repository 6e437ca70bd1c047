"""The ``loft`` command: thin wrappers that read settings and call into the package."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from loft import logs
from loft.config import CONFIG_VARIABLE, Settings
from loft.errors import ConfigurationError
from loft.terminal import handset, numbers, send, tail

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Loft: a self-hosted server that speaks Twilio's REST API.")
console = Console()


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


async def _main_account(settings: Settings) -> tuple[str, str, bool]:
    from loft.app import bootstrap

    loft, main = await bootstrap(settings)
    await loft.close()
    return main.account.sid, main.account.auth_token, main.created


def _print_credentials(settings: Settings, sid: str, token: str, *, base_url: str, reveal: bool = True) -> None:
    console.print(f"[bold]Account SID[/bold]  {sid}")
    if not reveal:
        token = "<your LOFT_AUTH_TOKEN>"
    console.print(f"[bold]Auth token[/bold]   {token}")
    console.print("\nPoint twilio-python at this server:\n")
    console.print("    from twilio.rest import Client", markup=False, highlight=False)
    console.print(f'    client = Client("{sid}", "{token}")', markup=False, highlight=False, soft_wrap=True)
    console.print(f'    client.api.base_url = "{base_url}"', markup=False, highlight=False, soft_wrap=True)
    console.print()


DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Where the SQLite database and secret key live (default ./.loft).")]
Supervised = Annotated[bool, typer.Option("--supervised", hidden=True,
                                         help="Started by loft serve: woken through, and stopped with, stdin.")]
ConfigFile = Annotated[Optional[Path], typer.Option(
    "--config", help="A TOML file of settings (as LOFT_CONFIG; the environment and options win over it).")]
ReadyFd = Annotated[Optional[int], typer.Option("--ready-fd", hidden=True,
                                                help="Started by loft serve: say on this pipe when serving.")]


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 8080).")] = None,
    data_dir: DataDir = None,
    processes: Annotated[Optional[int], typer.Option(
        min=1, max=64, help="API processes on this address, each delivering what it accepts (default 1).")] = None,
    worker_processes: Annotated[Optional[int], typer.Option(
        min=0, max=64, help="loft worker processes to deliver in (default 0: in the API processes).")] = None,
    supervised: Supervised = False,
    ready_fd: ReadyFd = None,
    config_file: ConfigFile = None,
) -> None:
    """Start the HTTP API (migrating the database first) and the delivery workers."""
    import uvicorn

    from loft import serving
    from loft.processes import listening_socket, share_metrics

    _use_config(config_file)
    settings = _settings(data_dir, host=host, port=port, processes=processes, worker_processes=worker_processes)
    logs.configure(settings.log_format, settings.log_level)
    if not supervised:
        share_metrics(settings)  # before anything imports prometheus-client
    if not supervised:
        sid, token, created = asyncio.run(_main_account(settings))
        base_url = f"http://{settings.host}:{settings.port}"
        if created:
            console.print("[green]Created the main account.[/green]")
            # A pinned token is known to whoever pinned it: keep it out of the server's output (and its logs).
            _print_credentials(settings, sid, token, base_url=base_url, reveal=settings.auth_token is None)
        else:
            console.print(f"Main account {sid} (run [bold]loft credentials[/bold] to see its auth token).")
        console.print(f"Web console: {base_url}/console (sign in with the account SID and auth token)", soft_wrap=True)
    from loft.app import create_app  # (imports prometheus-client: after share_metrics)

    application = create_app(settings, supervised=supervised, ready_fd=ready_fd)
    limits = dataclasses.replace(serving.Limits.of(settings), max_connections=serving.fit_file_limit(settings))
    log_config = logs.config(settings.log_format, settings.log_level) or uvicorn.config.LOGGING_CONFIG
    config = uvicorn.Config(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                            proxy_headers=False, http=serving.protocol(limits), log_config=log_config)
    server = uvicorn.Server(config)
    # Several processes on one address share it through SO_REUSEPORT; the first checks that it is free.
    sockets = None
    if supervised or settings.processes > 1:
        try:
            sockets = [listening_socket(settings.host, settings.port, first=not supervised)]
            if ready_fd is not None:  # the server waits for this child: the kernel may give it connections already
                sockets[0].listen(config.backlog)
        except OSError as exc:
            console.print(f"[red]Cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}[/red]")
            raise typer.Exit(1) from None
    tune_gc()
    server.run(sockets=sockets)


#: Collect the youngest generation after this many new container objects (Python's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Python's cyclic garbage collector, set for a long-running server (~15 % less CPU per message, bench/).

    What is loaded at start (libraries, libphonenumber's metadata, compiled statements) lives as long as the
    process: ``gc.freeze()`` takes it out of the collector's sight, so the older generations' collections walk
    only what was made since. The youngest generation is collected after 50,000 new container objects rather
    than 700: a request makes hundreds, and reference counting frees nearly all of them anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


@app.command()
def credentials(data_dir: DataDir = None, config_file: ConfigFile = None) -> None:
    """Print the main account's SID and auth token, and how to point the twilio SDK at Loft."""
    _use_config(config_file)
    settings = _settings(data_dir)
    sid, token, _ = asyncio.run(_main_account(settings))
    _print_credentials(settings, sid, token, base_url=f"http://{settings.host}:{settings.port}")


@app.command()
def worker(data_dir: DataDir = None, supervised: Supervised = False, config_file: ConfigFile = None) -> None:
    """Run delivery workers only (no HTTP API): add processes to share the work on PostgreSQL."""
    from loft import processes
    from loft.app import bootstrap
    from loft.delivery.worker import Worker

    _use_config(config_file)
    settings = _settings(data_dir)
    logs.configure(settings.log_format, settings.log_level)
    tune_gc()

    async def run() -> None:
        loft, main = await bootstrap(settings, migrate=not supervised)  # a supervising server has migrated
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if supervised:
            await processes.listen_to_server(on_wake=loft.wake, on_close=stop.set)
        else:
            console.print(f"Worker for {settings.resolved_database_url.split('@')[-1]} (main account {main.account.sid})")
        try:
            await Worker(loft).run(stop)
        finally:
            await loft.close()

    _run_fast(run())


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on uvloop, the loop ``loft serve`` runs on (uvicorn picks it), when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it where it builds
        asyncio.run(main)
    else:
        uvloop.run(main)


# Terminal tools for people (loft/terminal/): they talk to a Loft server, local or remote, through its REST API.
app.command("handset", help="Chat as a virtual handset: what you type is texted to --to, replies appear live.")(
    handset.command)
app.command("tail", help="A live, colored stream of message status changes and webhook attempts.")(tail.command)
app.command("send", help="Send one message, or a Liquid-templated message to every row of a CSV file (--to-file).")(
    send.command)
app.add_typer(numbers.app, name="numbers")


def _use_config(path: Path | None) -> None:
    """``--config``: name the file as ``LOFT_CONFIG`` does, for this process and those it starts."""
    if path is not None:
        os.environ[CONFIG_VARIABLE] = str(path.resolve())


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:  # a settings file (or key) that cannot be used: one line, no traceback
        print(f"loft: {exc}", file=sys.stderr)
        sys.exit(2)
