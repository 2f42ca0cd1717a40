"""``crossdock auth connect CHANNEL``: a seller's consent to stored tokens, with
no token pasted anywhere.

The OAuth authorisation-code flow, the same for every platform: a one-shot
HTTP server on the loopback address (127.0.0.1, ``--port`` or a free port)
receives the seller's browser back at ``/callback``; ``state`` is a random
token checked on return (another value: XD-AUTH-012); an ``error`` answer
(the seller declined) is XD-AUTH-013; no callback within the timeout is
XD-AUTH-011. The platform's part (:class:`crossdock.platforms.connect.AccountConnect`:
the consent URL, its own checks of the callback, the code exchange) comes
from ``PlatformSpec.connect``. The tokens are stored as ``crossdock auth set``
stores them (:func:`crossdock.connectors.credentials.set_credentials`:
encrypted, the grant's dates, the channel resumed, ``auth.connect`` in the
sync and audit logs). Nothing is stored unless every check passed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import html
import http.server
import logging
import queue
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from crossdock.errors import AuthError, ConfigError, CrossdockError
from crossdock.platforms import platform as platform_spec

log = logging.getLogger(__name__)

__all__ = ["CALLBACK_PATH", "DEFAULT_TIMEOUT_S", "LoopbackCallback", "connect_channel"]

CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT_S = 300.0
_ANSWER_WAIT_S = 120.0          # how long the browser's request waits for the outcome page


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LoopbackCallback:
    """A one-shot HTTP server on 127.0.0.1: the first request to ``/callback``
    hands its query to :meth:`wait`; the browser is answered with the outcome
    that :meth:`answer` gives (or a neutral page after a while)."""

    def __init__(self, port: int = 0) -> None:
        self._params: queue.Queue[dict[str, str]] = queue.Queue(maxsize=1)
        self._outcome: queue.Queue[tuple[int, str]] = queue.Queue(maxsize=1)
        self._taken = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:   # the query holds a code: never logged
                return

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                split = urllib.parse.urlsplit(self.path)
                # a forwarder (a redirect URL registered with the app) may keep a path before /callback
                if not split.path.endswith(CALLBACK_PATH) or not outer._taken.acquire(blocking=False):
                    self._page(404, "Not the crossdock callback (or it was already used).")
                    return
                params = {k: v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
                outer._params.put(params)
                try:
                    status, text = outer._outcome.get(timeout=_ANSWER_WAIT_S)
                except queue.Empty:
                    status, text = 200, "Received; see the terminal where crossdock runs."
                self._page(status, text)

            def _page(self, status: int, text: str) -> None:
                body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>crossdock</title></head>"
                        f"<body><p>{html.escape(text)}</p></body></html>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        try:
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise AuthError("XD-AUTH-015", detail=f"127.0.0.1:{port}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="auth-connect-callback",
                                        daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def __enter__(self) -> "LoopbackCallback":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.answer(200, "You may close this window.")
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout_s: float) -> dict[str, str] | None:
        """The callback's query parameters, or None when none came within ``timeout_s``."""
        try:
            return self._params.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def answer(self, status: int, text: str) -> None:
        """What the browser that brought the callback is shown (first answer wins)."""
        try:
            self._outcome.put_nowait((status, text))
        except queue.Full:
            pass


def _check_callback(params: Mapping[str, str], state: str, channel: str) -> None:
    """The generic checks: the state this run sent, then the platform's error answer."""
    got = params.get("state") or ""
    if not hmac.compare_digest(got.encode(), state.encode()):
        raise AuthError("XD-AUTH-012", channel=channel,
                        detail="the callback's state is not the one this run sent" if got
                        else "the callback carries no state")
    error = params.get("error")
    if error:
        text = params.get("error_description") or ""
        raise AuthError("XD-AUTH-013", channel=channel,
                        detail=f"the platform answered {error}" + (f": {text}" if text else ""))


def connect_channel(cfg: Any, db: Any, channel: str, *, port: int = 0, timeout_s: float = DEFAULT_TIMEOUT_S,
                    announce: Callable[[str], None] = print, open_browser: Callable[[str], Any] | None = None,
                    now: Callable[[], dt.datetime] = _now) -> dict[str, Any]:
    """Run the flow for ``channel`` (see the module doc) and store its tokens.

    ``announce(url)`` shows the consent URL (before waiting); ``open_browser``
    (``webbrowser.open``) opens it too when given. Returns what
    :func:`~crossdock.connectors.credentials.set_credentials` returns, with
    the consent URL's host and the account the platform named."""
    from crossdock.connectors.credentials import set_credentials

    ch = cfg.channel(channel)
    spec = platform_spec(ch.platform)
    if spec.connect is None:
        raise ConfigError("XD-CFG-009", channel=channel,
                          detail=f"{spec.title} accounts cannot be connected by crossdock; store a refresh token "
                                 f"with `crossdock auth set {channel} --refresh-token-env VAR`")
    if timeout_s <= 0:
        raise ConfigError("XD-CFG-009", detail=f"--timeout {timeout_s:g}: give a number of seconds above 0")
    flow = spec.connect(ch)
    state = secrets.token_urlsafe(32)
    with LoopbackCallback(port) as callback:
        url = flow.consent_url(state=state, redirect_uri=callback.redirect_uri)
        announce(url)
        if open_browser is not None:
            try:
                open_browser(url)
            except Exception as exc:  # noqa: BLE001 - no browser here: the printed URL still works
                log.warning("could not open a browser (%s); open the URL above", exc)
        params = callback.wait(timeout_s)
        if params is None:
            raise AuthError("XD-AUTH-011", channel=channel,
                            detail=f"no callback reached {callback.redirect_uri} within {timeout_s:g} s")
        try:
            _check_callback(params, state, channel)
            code = flow.code_from_callback(params)
            granted_at = now()
            grant = flow.exchange_code(code, redirect_uri=callback.redirect_uri, now=granted_at)
            result = set_credentials(db, ch, refresh_token=grant.refresh_token, access_token=grant.access_token,
                                     access_expires_at=grant.access_expires_at,
                                     refresh_expires_at=grant.refresh_expires_at, now=granted_at,
                                     operation="auth.connect")
        except CrossdockError as exc:
            callback.answer(400, f"crossdock could not connect {channel}: {exc.code} {exc.spec.title}. "
                                 "See the terminal.")
            raise
        callback.answer(200, f"crossdock: {channel} is connected. You may close this window.")
    result["account"] = grant.account
    result["consent_host"] = urllib.parse.urlsplit(url).netloc
    return result
