"""The ``loft`` command: thin wrappers that read settings and call into the package."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import shlex
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from loft import logs, startup
from loft.config import CONFIG_VARIABLE, Settings
from loft.delivery.carriers import plan as carrier_plan
from loft.errors import ConfigurationError
from loft.terminal import handset, numbers, send, tail

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Loft: a self-hosted server that speaks Twilio's REST API.")
console = Console()


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


#: The options that set a setting, named beside it when its value is refused.
FLAGS = {"data_dir": "--data-dir", "host": "--host", "port": "--port", "processes": "--processes",
         "worker_processes": "--worker-processes"}


def _prepare(settings: Settings) -> int | None:
    """The checks of every command that opens the store, before it creates anything (see loft/startup.py); the
    connections PostgreSQL allows (None: SQLite)."""
    carrier_plan.load(settings.carriers_file)
    startup.check_directories(settings)
    return asyncio.run(startup.check_database(settings))


async def _main_account(settings: Settings) -> tuple[str, str, bool]:
    from loft.app import bootstrap

    loft, main = await bootstrap(settings)
    await loft.close()
    return main.account.sid, main.account.auth_token, main.created


def _start(settings: Settings) -> tuple[str, str, bool]:
    """What ``loft serve`` does before it listens: the port first (nothing is created for a server that could not
    listen), the directories and the database, the data dir's lock (held until this process ends), then the main
    account. A mistake stops it here, in a line or two (loft/startup.py)."""
    startup.check_port(settings.host, settings.port)
    startup.check_pools(settings, _prepare(settings))
    startup.hold_serve_lock(settings)
    return asyncio.run(_main_account(settings))


def client_url(settings: Settings) -> str:
    """Where a client on this machine reaches the server: ``LOFT_PUBLIC_URL``, or the address it listens on (a
    wildcard address as loopback)."""
    if settings.public_url:
        return settings.base_url
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"


def export_line(url: str, sid: str, token: str) -> str:
    """``export`` of the variables the terminal tools, twilio-cli and the Twilio SDKs read."""
    values = {"LOFT_URL": url, "TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token}
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in values.items())


def _print_credentials(settings: Settings, sid: str, token: str, *, base_url: str, reveal: bool = True) -> None:
    console.print(f"[bold]Account SID[/bold]  {sid}")
    if not reveal:
        token = "<your LOFT_AUTH_TOKEN>"
    console.print(f"[bold]Auth token[/bold]   {token}")
    console.print("\nPoint twilio-python at this server:\n")
    console.print("    from twilio.rest import Client", markup=False, highlight=False)
    console.print(f'    client = Client("{sid}", "{token}")', markup=False, highlight=False, soft_wrap=True)
    console.print(f'    client.api.base_url = "{base_url}"', markup=False, highlight=False, soft_wrap=True)
    console.print(f'    client.messaging.base_url = "{base_url}"  # Messaging Services (/v1), Senders (/v2)',
                  markup=False, highlight=False, soft_wrap=True)
    console.print(f'    client.content.base_url = "{base_url}"  # Content templates (/v1/Content)', markup=False,
                  highlight=False, soft_wrap=True)
    console.print()


DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Where the SQLite database and secret key live (default ./.loft).")]
Supervised = Annotated[bool, typer.Option("--supervised", hidden=True,
                                         help="Started by loft serve: woken through, and stopped with, stdin.")]
Carriers = Annotated[Optional[str], typer.Option(
    "--carriers", help="Which network carriers this worker runs: all (default), per-worker (only those with "
    "instances = \"per-worker\"), none (LOFT_CARRIERS_HERE).")]
ReadyFd = Annotated[Optional[int], typer.Option("--ready-fd", hidden=True,
                                                help="Started by loft serve: say on this pipe when serving.")]
ConfigFile = Annotated[Optional[Path], typer.Option(
    "--config", help="A TOML file of settings (as LOFT_CONFIG; the environment and options win over it).")]


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 8080).")] = None,
    data_dir: DataDir = None,
    processes: Annotated[Optional[str], typer.Option(
        metavar="N|auto", help="API processes on this address, each delivering what it accepts: 1 to 64, or auto (as many as the "
        "database scales with on this machine; default 1).")] = None,
    worker_processes: Annotated[Optional[int], typer.Option(
        min=0, max=64, help="loft worker processes to deliver in (default 0: in the API processes).")] = None,
    supervised: Supervised = False,
    ready_fd: ReadyFd = None,
    config_file: ConfigFile = None,
) -> None:
    """Start the HTTP API (migrating the database first) and the delivery workers."""
    import uvicorn

    from loft import serving
    from loft.processes import auto_line, listening_socket, note_layout, share_metrics

    _use_config(config_file)
    with startup.reported(FLAGS):
        settings = _settings(data_dir, host=host, port=port, processes=processes, worker_processes=worker_processes)
        logs.configure(settings.log_format, settings.log_level)
        if not supervised:
            note_layout(settings)
            share_metrics(settings)  # before anything imports prometheus-client (_start imports the app)
        started = None if supervised else _start(settings)
    if started is not None:
        sid, token, created = started
        base_url = client_url(settings)
        if created:
            console.print("[green]Created the main account.[/green]")
            # A pinned token is known to whoever pinned it: keep it out of the server's output (and its logs).
            _print_credentials(settings, sid, token, base_url=base_url, reveal=settings.auth_token is None)
        else:
            console.print(f"Main account {sid} (run [bold]loft credentials[/bold] to see its auth token).")
        console.print(f"Web console: {base_url}/console (sign in with the account SID and auth token)", soft_wrap=True)
        if (line := auto_line(settings)) is not None:
            console.print(line, soft_wrap=True, highlight=False)
    from loft.app import create_app  # (imports prometheus-client: after share_metrics)

    application = create_app(settings, supervised=supervised, ready_fd=ready_fd)
    limits = dataclasses.replace(serving.Limits.of(settings), max_connections=serving.fit_file_limit(settings))
    log_config = logs.server_config(settings.log_format, settings.log_level, uvicorn.config.LOGGING_CONFIG)
    config = uvicorn.Config(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                            proxy_headers=False, http=serving.protocol(limits), log_config=log_config,
                            access_log=serving.writes_access_lines(settings.log_level))
    server = uvicorn.Server(config)
    # Several processes on one address share it through SO_REUSEPORT; the first checks that it is free.
    sockets = None
    if supervised or settings.api_processes > 1:
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
def credentials(
    data_dir: DataDir = None,
    config_file: ConfigFile = None,
    export: Annotated[bool, typer.Option(
        "--export", help='Print one `export` line of LOFT_URL, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, for the '
        'terminal tools, twilio-cli and the Twilio SDKs: eval "$(loft credentials --export)".')] = False,
) -> None:
    """Print the main account's SID and auth token, and how to point the twilio SDK at Loft."""
    _use_config(config_file)
    with startup.reported(FLAGS):
        settings = _settings(data_dir)
        _prepare(settings)
        sid, token, _ = asyncio.run(_main_account(settings))
    if export:
        typer.echo(export_line(client_url(settings), sid, token))
        return
    _print_credentials(settings, sid, token, base_url=client_url(settings))
    console.print('Terminal tools (loft handset, tail, numbers, send) and twilio-cli: '
                  '[bold]eval "$(loft credentials --export)"[/bold]', highlight=False, soft_wrap=True)


@app.command("rotate-token")
def rotate_token(
    data_dir: DataDir = None,
    config_file: ConfigFile = None,
    token: Annotated[Optional[str], typer.Option(
        "--token", show_default=False, help="The new token (default: a random one, 32 hex digits).")] = None,
) -> None:
    """Give the main account a new auth token and print it: the old one stops working in every running Loft
    process within a second, and console sessions signed in with it end."""
    _use_config(config_file)
    with startup.reported(FLAGS):
        if token is not None and (not token or not token.isprintable() or any(c.isspace() for c in token)):
            raise ConfigurationError("--token: an auth token is printable and has no spaces")
        settings = _settings(data_dir)
        _prepare(settings)
        sid, new = asyncio.run(_rotate(settings, token))
    console.print(f"New auth token of the main account {sid}:", highlight=False)
    typer.echo(new)
    console.print("Running Loft processes take it within a second; console sessions signed in with the old one "
                  "have ended. Update the token wherever it is set: TWILIO_AUTH_TOKEN of your clients, and "
                  "LOFT_AUTH_TOKEN of loft serve and loft worker if it is pinned there (a start with the old one is "
                  "refused).", highlight=False, soft_wrap=True)


async def _rotate(settings: Settings, token: str | None) -> tuple[str, str]:
    """The main account's new token (the pinned SID must match; the pinned token is what is being replaced)."""
    from loft.accounts import service
    from loft.app import bootstrap

    loft, main = await bootstrap(settings.model_copy(update={"auth_token": None}))
    try:
        async with loft.db.write() as conn:
            account = await service.rotate_token(conn, loft.box, main.account, token)
    finally:
        await loft.close()
    return account.sid, account.auth_token


@app.command()
def worker(data_dir: DataDir = None, supervised: Supervised = False, config_file: ConfigFile = None,
           carriers: Carriers = None) -> None:
    """Run delivery workers only (no HTTP API): add processes to share the work on PostgreSQL."""
    from loft import processes
    from loft.app import bootstrap
    from loft.delivery.worker import Worker
    from loft.sim import clock

    _use_config(config_file)
    with startup.reported(FLAGS):
        settings = _settings(data_dir, carriers_here=carriers)
        logs.configure(settings.log_format, settings.log_level)
        carrier_plan.load(settings.carriers_file)
        if not supervised:
            startup.check_directories(settings)
    tune_gc()

    async def run() -> None:
        with startup.reported(FLAGS):
            if not supervised:
                await startup.check_database(settings)
            # A supervising server has migrated, and checked the pinned credentials.
            loft, main = await bootstrap(settings, migrate=not supervised, pin=not supervised)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if supervised:
            await processes.listen_to_server(on_wake=loft.wake, on_close=stop.set)
        else:
            console.print(f"Worker for {settings.resolved_database_url.split('@')[-1]} (main account {main.account.sid})")
        following = asyncio.create_task(clock.follow(loft, stop))
        try:
            await Worker(loft).run(stop)
        finally:
            stop.set()
            await following
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
    except ConfigurationError as exc:  # raised outside a command's startup checks: one line, no traceback
        print(f"loft: {exc}", file=sys.stderr)
        sys.exit(startup.EXIT_CODE)
