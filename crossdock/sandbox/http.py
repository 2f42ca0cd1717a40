"""A small, fast HTTP/1.1 server for the sandbox, on the standard library.

Why not a framework: the sandbox must start in well under 2 s, run in-process on
free ports from tests and the demo, and serve hundreds of requests per second on
one core; ``http.server`` with keep-alive and a tiny router does that with no
dependency. Each platform is an :class:`App` (a router) served on its own port.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


class Headers(dict):
    """Case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items=()):
        super().__init__()
        for k, v in (items.items() if isinstance(items, dict) else items):
            self[k] = v

    def __setitem__(self, key, value):
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __contains__(self, key):
        return super().__contains__(key.lower())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    client: str = ""
    #: What a handler worked out from the request and later steps read again (a parsed body).
    memo: dict[str, Any] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def args(self, name: str) -> list[str]:
        """All values of a query parameter, comma lists split (SP-API style)."""
        out: list[str] = []
        for v in self.query.get(name, []):
            out.extend(p for p in v.split(",") if p)
        return out

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0          # sandbox faults: answer late
    drop: bool = False            # sandbox faults: close the connection without answering
    #: The platform refused the call for quota in the body, not by status (Shopify's GraphQL
    #: THROTTLED, eBay Trading's usage-limit error): counted as throttled in the stats.
    throttled: bool = False


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    h = {"Content-Type": "application/json"}
    if headers:
        h.update(headers)
    return Response(status, json.dumps(obj, separators=(",", ":"), default=str).encode(), h)


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
                  headers: dict[str, str] | None = None) -> Response:
    h = {"Content-Type": content_type}
    if headers:
        h.update(headers)
    return Response(status, text.encode("utf-8"), h)


Handler = Callable[[Request], Response]
_PARAM = re.compile(r"\{(\w+)\}")


class App:
    """A router. Routes are ``METHOD /path/{param}``; the first match wins."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.before: list[Callable[[Request], Response | None]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/") + "/?$")

        def deco(fn: Handler) -> Handler:
            self._routes.append((method.upper(), regex, fn))
            return fn

        return deco

    def add(self, method: str, pattern: str, fn: Handler) -> None:
        self.route(method, pattern)(fn)

    def handle(self, req: Request) -> Response:
        for hook in self.before:
            early = hook(req)
            if early is not None:
                return early
        allowed = False
        for method, regex, fn in self._routes:
            m = regex.match(req.path)
            if not m:
                continue
            allowed = True
            if method != req.method:
                continue
            req.path_params = {k: _unquote(v) for k, v in m.groupdict().items()}
            return fn(req)
        if allowed:
            return json_response({"errors": [{"code": "MethodNotAllowed", "message": req.method}]}, 405)
        return json_response({"errors": [{"code": "NotFound", "message": f"no route {req.path}"}]}, 404)


def _unquote(s: str) -> str:
    from urllib.parse import unquote

    return unquote(s)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crossdock-sandbox/1"
    app: App  # set on the subclass

    def log_message(self, fmt, *args):  # quiet; the sandbox keeps its own request log
        return

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=Headers(self.headers.items()),
            body=body,
            client=self.client_address[0],
        )
        try:
            resp = self.app.handle(req)
        except Exception as exc:  # the sandbox must never die on a bad request
            log.exception("sandbox %s: handler failed for %s %s", self.app.name, req.method, req.path)
            resp = json_response({"errors": [{"code": "InternalFailure", "message": str(exc)}]}, 500)
        if resp.delay_s > 0:
            threading.Event().wait(resp.delay_s)
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(self._head(resp) + (b"" if self.command == "HEAD" else resp.body))

    def _head(self, resp: Response) -> bytes:
        """Status line and headers as ``send_response``/``send_header`` write them, built here so
        head and body go out in one write: two small writes on a keep-alive connection meet
        Nagle + delayed ACK and cost ~40 ms per response."""
        phrase = self.responses[resp.status][0] if resp.status in self.responses else ""
        lines = [f"{self.protocol_version} {resp.status} {phrase}", f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}"]
        for k, v in resp.headers.items():
            lines.append(f"{k}: {v}")
            if k.lower() == "connection" and v.lower() == "close":
                self.close_connection = True
        lines.append(f"Content-Length: {len(resp.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class AppServer:
    """Serves one :class:`App` on ``host:port`` (port 0 = a free port) in a thread."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type(f"{app.name}Handler", (_Handler,), {"app": app})
        self.app = app
        self._server = _Server((host, port), handler)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "AppServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"sandbox-{self.app.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
