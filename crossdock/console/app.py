"""The support console as one ASGI app: :func:`build_app`.

Pages (:mod:`.pages`) and the JSON API (:mod:`.api`) read the engine's
database through the same document-building functions as the CLI's
``--json``; logins, roles and CSRF are :mod:`.guard`'s. Static files are
Starlette's ``StaticFiles`` (it refuses paths outside its folder).
``/healthz``: the process answers; ``/readyz``: the database is reachable and
at the current schema revision (503 with the code otherwise).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from crossdock.access.sessions import csrf_key, end_session, new_session
from crossdock.access.throttle import Throttle
from crossdock.access.users import authenticate
from crossdock.console import api, credentials, export, pages, stock, users
from crossdock.console.guard import PRE_COOKIE, SESSION_COOKIE, check_csrf, csrf_for, error_response, set_cookie
from crossdock.db.engine import Database
from crossdock.errors import CrossdockError, DataError
from crossdock.events import http as events_http

__all__ = ["build_app"]

HERE = Path(__file__).parent


def build_app(cfg: Any, db: Database, *, secret_key: str) -> Starlette:
    """The console for ``cfg`` on ``db``; ``secret_key`` derives the CSRF key."""
    serve = cfg.serve or {}
    # autoescape everywhere: order titles, messages and names are the platforms' and the buyers' text
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.filters["amount"] = amount
    templates = Jinja2Templates(env=env)
    app = Starlette(routes=[
        Route("/healthz", healthz), Route("/readyz", readyz),
        Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *pages.ROUTES, *stock.ROUTES, *users.ROUTES, *credentials.ROUTES, *export.ROUTES, *api.ROUTES, *events_http.ROUTES,
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ], exception_handlers={CrossdockError: error_response}, middleware=[Middleware(SecurityHeaders)],
        lifespan=events_http.closing_receivers)
    app.state.cfg, app.state.db, app.state.templates = cfg, db, templates
    app.state.csrf_key = csrf_key(secret_key)
    events_http.install(app, cfg, db, secret_key=secret_key)
    app.state.session_s = float(serve.get("session_h", 12.0)) * 3600
    app.state.throttle = Throttle(limit=int(serve.get("login_failures", 5)),
                                  window_s=float(serve.get("lockout_s", 900.0)),
                                  lockout_s=float(serve.get("lockout_s", 900.0)))
    return app


#: On every response: no framing (the operator's buttons cannot be clickjacked), no script or style
#: from elsewhere (the pages use none), no MIME sniffing, no referrer to other sites, and pages that
#: show shop data are not kept in caches.
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` outside /static/) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def amount(value: Any) -> str:
    """A stored amount as people read it: 29.9000 → 29.90 (more places only when they matter)."""
    if value in (None, ""):
        return "-"
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    cents = d.quantize(Decimal("0.01"))
    return str(cents) if cents == d else str(d.normalize())


def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def readyz(request: Request) -> Response:
    from crossdock.db.migrate import ensure_current

    try:
        ensure_current(request.app.state.db, auto_create=False)
    except CrossdockError as exc:
        return JSONResponse({"ready": False, "error": exc.to_dict()}, status_code=503)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready"
        err = DataError("XD-DATA-001", detail=type(exc).__name__)
        return JSONResponse({"ready": False, "error": err.to_dict()}, status_code=503)
    return JSONResponse({"ready": True})


def _next(value: Any) -> str:
    """Where to go after login: a path of ours only (never another site)."""
    text = str(value or "/")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/"


def _login_page(request: Request, *, pre: str, error: CrossdockError | None = None, status: int = 200,
                next_path: str = "/") -> Response:
    response = request.app.state.templates.TemplateResponse(
        request, "login.html", {"csrf": csrf_for(request, pre), "error": error, "next": next_path, "user": None},
        status_code=status, headers={"Retry-After": str(int(error.retry_after_s))}
        if error is not None and error.retry_after_s else None)
    set_cookie(request, response, PRE_COOKIE, pre)
    return response


def login_form(request: Request) -> Response:
    import secrets

    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    return _login_page(request, pre=pre, next_path=_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await check_csrf(request, PRE_COOKIE)
    state = request.app.state
    address = request.client.host if request.client else None
    try:
        account = await run_in_threadpool(authenticate, state.db, str(form.get("username", ""))[:200],
                                          str(form.get("password", "")), address=address, throttle=state.throttle,
                                          now=dt.datetime.now(dt.timezone.utc))
    except CrossdockError as exc:
        status = {"XD-ACCESS-003": 429, "XD-ACCESS-004": 403}.get(exc.code, 401)
        return _login_page(request, pre=request.cookies[PRE_COOKIE], error=exc, status=status,
                           next_path=_next(form.get("next")))
    # a new session every time: whatever cookie the browser had is not promoted (session fixation)
    end_session(state.db, request.cookies.get(SESSION_COOKIE))
    value = await run_in_threadpool(new_session, state.db, account, lifetime_s=state.session_s)
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, value, max_age=int(state.session_s))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    await check_csrf(request)
    end_session(request.app.state.db, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
