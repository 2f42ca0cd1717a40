"""``crossdock serve``: the support console (pages and ``/api/``) on uvicorn.

It listens on loopback unless told otherwise: another address needs
``--allow-remote`` and a configuration that says how the traffic is protected
(``[serve] tls_cert_file`` + ``tls_key_file``, or ``behind_proxy = true``),
else XD-ACCESS-008 before anything listens. It reads the engine's database
(the configuration's, migrated) and may run beside the workers or alone.
"""

from __future__ import annotations

import ipaddress

import typer

from crossdock.cli.application import Application
from crossdock.errors import AccessError

__all__ = ["is_loopback", "serve"]


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
    server.run()
    app.err.print(f"{what} stopped", markup=False, highlight=False)

