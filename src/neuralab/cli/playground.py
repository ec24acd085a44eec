"""``neuralab playground``: TensorFlow Playground's page on neuralab's engine, in the browser.

    neuralab playground                              # 127.0.0.1:8000, opens the browser
    neuralab playground --port 8001 --no-browser
    neuralab playground --host 0.0.0.0 --token auto  # a teacher serving a class
"""

from __future__ import annotations

import errno
import ipaddress
import re
import secrets
import socket
import sys
import threading
from typing import Annotated

import typer

from neuralab.cli._app import app, fail
from neuralab.cli._command import SHORT_HELP, Command

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,128}\Z")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is served to this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(token: str | None, host: str) -> str | None:
    """The token to require (``auto`` draws one); one line when missing off loopback."""
    if token is None:
        if not is_loopback(host):
            fail(f"--host {host} serves other machines, so it needs a token: add --token auto "
                 "(or --token VALUE) and give your class the URL printed")
        return None
    if token == "auto":
        return secrets.token_urlsafe(16)
    if not TOKEN_RE.match(token):
        fail(f"--token {token[:20]!r} is not allowed; use 8 to 128 letters, digits, '-' or "
             "'_', or --token auto")
    return token


def resolve(host: str, port: int) -> tuple[int, tuple]:
    """``(family, address)`` of ``host:port``; a bad port or host is one line."""
    if not 0 <= port <= 65535:
        fail(f"--port {port} is not allowed; give 1..65535 (0 picks a free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        fail(f"--host {host!r} is not an address or name this machine can resolve; use "
             "127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)")
    family, _, _, _, address = infos[0]
    return family, address


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a busy port or a bad host is one line."""
    family, address = resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is in use; choose another with --port (e.g. --port "
                 f"{port + 1 if port else 8001})")
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EINVAL):
            fail(f"--host {host!r} is not an address of this machine; use 127.0.0.1 or "
                 "0.0.0.0")
        if exc.errno == errno.EACCES:
            fail(f"port {port} needs administrator rights; use a port above 1023")
        raise
    sock.setblocking(False)
    return sock


def page_url(host: str, port: int, token: str | None) -> str:
    """The URL to open: this machine's name for a wildcard host, the host otherwise."""
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


@app.command("playground", cls=Command, short_help=SHORT_HELP["playground"])
def playground_cmd(
    host: Annotated[str, typer.Option(
        "--host", metavar="HOST",
        help="Address to serve on; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT",
                                      help="Port (0 picks a free one).")] = 8000,
    token: Annotated[str | None, typer.Option(
        "--token", metavar="auto|VALUE",
        help="Require this token in the URL; 'auto' draws one.", show_default=False)] = None,
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Print the URL only; do not open a browser.")] = False,
    max_sessions: Annotated[int, typer.Option(
        "--max-sessions", metavar="N", help="Pages served at once, at most.")] = 50,
) -> None:
    """Serve the playground page: TensorFlow Playground's controls on neuralab's engine."""
    try:
        import uvicorn

        from neuralab.playground.server import create_app, uvicorn_config
    except ModuleNotFoundError as exc:
        typer.echo(f"neuralab: error: the playground needs {exc.name}: pip install "
                   "'neuralab[playground]'", err=True)
        raise typer.Exit(1) from None
    if max_sessions < 1:
        fail(f"--max-sessions {max_sessions} is not allowed; give 1 or more")
    resolve(host, port)
    secret = check_token(token, host)
    sock = bind(host, port)
    port = int(sock.getsockname()[1])
    url = page_url(host, port, secret)
    local = page_url("127.0.0.1", port, secret)
    config = uvicorn.Config(create_app(secret, max_sessions=max_sessions),
                            **uvicorn_config(host, port))
    server = uvicorn.Server(config)
    typer.echo(f"neuralab playground: {url}")
    if host in ("0.0.0.0", "::"):
        typer.echo(f"  on this machine: {local}")
    typer.echo("  press Ctrl-C to stop")
    sys.stdout.flush()
    if not no_browser:
        import webbrowser

        def open_page() -> None:
            if server.started:
                webbrowser.open(local if host in ("0.0.0.0", "::") else url)

        threading.Timer(1.0, open_page).start()
    try:
        # uvicorn handles Ctrl-C (stops accepting, closes the pages), then raises it again
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a playground is meant to stop: not an error
    finally:
        sock.close()
    typer.echo("neuralab playground: stopped")
