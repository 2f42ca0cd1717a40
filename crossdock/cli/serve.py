"""``crossdock serve``: the support console (pages and ``/api/``) on uvicorn.

It listens on loopback unless told otherwise: another address needs
``--allow-remote`` and a configuration that says how the traffic is protected
(``[serve] tls_cert_file`` + ``tls_key_file``, or ``behind_proxy = true``),
else XD-ACCESS-008 before anything listens. It reads the engine's database
(the configuration's, migrated) and may run beside the workers or alone.

With a shared broker (Redis, RabbitMQ) the platforms' events it accepts wake
the workers as they commit, as the worker's own work does
(:mod:`crossdock.sync_engine.wakeups`); with the embedded default's
in-process broker the worker's relay finds them on its next tick.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import typer

from crossdock.cli.application import Application
from crossdock.errors import AccessError

__all__ = ["is_loopback", "serve"]

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False        # a host name: it may resolve anywhere


def serve(ctx: typer.Context,
          host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless --allow-remote)."),
          port: int = typer.Option(8040, "--port", min=1, max=65535, help="Port to listen on."),
          allow_remote: bool = typer.Option(False, "--allow-remote",
                                            help="Listen on a non-loopback address ([serve] TLS files or "
                                                 "behind_proxy needed too)."),
          events_only: bool = typer.Option(False, "--events-only",
                                           help="Serve only the platforms' events (/hooks/PLATFORM) and "
                                                "/healthz, not the console.")) -> None:
    """The support console: pages for support staff and a JSON API under /api/ (log in: crossdock users add),
    and the platforms' events at /hooks/PLATFORM ([events])."""
    app = Application.of(ctx)
    cfg = app.config
    opts = cfg.serve or {}
    tls = bool(opts.get("tls_cert_file") and opts.get("tls_key_file"))
    if not is_loopback(host):
        if not allow_remote:
            raise AccessError("XD-ACCESS-008", detail=f"--host {host} is not a loopback address: add --allow-remote "
                                                      "(with [serve] TLS files or behind_proxy)")
        if not (tls or opts.get("behind_proxy")):
            raise AccessError("XD-ACCESS-008", detail=f"--host {host}: the configuration has neither [serve] "
                                                      "tls_cert_file + tls_key_file nor behind_proxy = true")
    import uvicorn

    from crossdock import secrets
    from crossdock.console.server import Server
    if events_only:
        from crossdock.events.http import build_events_app

        asgi = build_events_app(cfg, app.db, secret_key=secrets.keys()[0])
    else:
        from crossdock.console.app import build_app

        asgi = build_app(cfg, app.db, secret_key=secrets.keys()[0])
    scheme = "https" if tls else "http"
    what = "crossdock events (/hooks/PLATFORM)" if events_only else "crossdock console"
    app.err.print(f"{what} on {scheme}://{host}:{port}/ (Ctrl-C stops it)", markup=False, highlight=False)
    server = Server(uvicorn.Config(asgi, host=host, port=port, proxy_headers=bool(opts.get("behind_proxy")),
                                    ssl_certfile=opts.get("tls_cert_file") if tls else None,
                                    ssl_keyfile=opts.get("tls_key_file") if tls else None,
                                    log_level="warning" if app.verbose == 0 else "info", server_header=False))
    stop_waking = _wake_workers(cfg.broker_url)
    try:
        server.run()
    finally:
        stop_waking()
    app.err.print(f"{what} stopped", markup=False, highlight=False)


def _wake_workers(broker_url: str) -> Callable[[], None]:
    """Send the wake-up of work due at once (an accepted event's read) through
    the shared broker when its transaction commits, so a worker starts it now,
    not at its relay's next tick. A wake-up that cannot be sent (broker down)
    is sent by the relay later. Returns what undoes it."""
    if urlsplit(broker_url).scheme == "stub":
        return lambda: None         # in-process: no worker listens to this process's broker
    from crossdock.runtime import setup_broker
    from crossdock.sync_engine import actors, wakeups

    broker = setup_broker(broker_url)
    actors.bind(broker)

    def send(entry_id: int, kind: str, due: object) -> None:
        actors.wake(wakeups.Woken(entry_id, kind))

    wakeups.install(send)

    def undo() -> None:
        wakeups.uninstall(send)
        try:
            broker.close()
        except Exception as exc:  # noqa: BLE001 - closing at exit: nothing is lost either way
            log.debug("broker not closed cleanly: %s", exc)

    return undo

