"""``/hooks/{kind}`` in ``crossdock serve`` (and alone with ``--events-only``).

The generic half of every HTTP receiver: find the platform's receiver in the
registry (``PlatformSpec.events``), read the body up to ``[events]
max_body_bytes`` (reading stops at the cap: XD-EVT-002, 413), hand the raw
request to the receiver, and :func:`~crossdock.events.intake.accept` each
delivery it returns or :func:`~crossdock.events.intake.refuse` it with its
code. Only that happens in the request — a record and an outbox entry, one
short transaction, no platform call except a signing key not yet cached —
so the platform gets its answer well within a second; the read of the order
is the worker's (``events.read``).

No platform is named here: a platform's receiver decides the channel from
its own headers or payload, and checks its own signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from crossdock.config_keys_events import DEFAULT_MAX_BODY_BYTES
from crossdock.connectors.events import EventReceiver, EventSetup, HookReply, HookRequest
from crossdock.db.engine import Database
from crossdock.errors import CrossdockError, EventError
from crossdock.events.intake import accept, refuse
from crossdock.platforms import registry

log = logging.getLogger(__name__)

__all__ = ["ROUTES", "Receivers", "build_events_app", "derive_secret", "install"]

#: The HTTP status of each refusal (a code not listed answers 400).
STATUS = {"XD-EVT-001": 401, "XD-EVT-002": 413, "XD-EVT-003": 404, "XD-EVT-004": 400, "XD-EVT-005": 404,
          "XD-EVT-007": 503}


def derive_secret(secret_key: str, purpose: str) -> str:
    """A stable secret for ``purpose`` (a verification token the platform
    echoes back) from crossdock's secret key: 64 hex characters."""
    return hmac.new(secret_key.encode("utf-8"), f"crossdock-events:{purpose}".encode(), hashlib.sha256).hexdigest()


class Receivers:
    """The receiver of each platform kind, built on first use from the
    configuration's channels of that platform."""

    def __init__(self, cfg: Any, db: Database, *, secret_key: str) -> None:
        self.cfg, self.db, self.secret_key = cfg, db, secret_key
        self.public_url = str((cfg.events or {}).get("public_url") or "").rstrip("/")
        self.max_body_bytes = int((cfg.events or {}).get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES)
        self._built: dict[str, EventReceiver | None] = {}
        self._pool: Any = None
        self._lock = threading.Lock()

    def setup(self, kind: str) -> EventSetup | None:
        spec = registry.find(kind)
        if spec is None or spec.events is None:
            return None
        channels: dict[str, Any] = {}
        for name, ch in sorted(self.cfg.channels.items()):
            if ch.platform != kind:
                continue
            try:
                channels[name] = spec.settings(ch)
            except CrossdockError as exc:      # one channel's missing secret does not stop the others' events
                log.warning("events of %s not received: %s", name, exc.message)
        if not channels:
            return None
        return EventSetup(channels=channels, public_url=self.public_url,
                          secret=lambda purpose: derive_secret(self.secret_key, purpose), connector=self.connector)

    def get(self, kind: str) -> EventReceiver | None:
        with self._lock:
            if kind not in self._built:
                spec = registry.find(kind)
                setup = self.setup(kind)
                self._built[kind] = spec.events(setup) if spec is not None and spec.events and setup else None
            return self._built[kind]

    def connector(self, channel: str) -> Any:
        with self._lock:
            if self._pool is None:
                from crossdock.ratelimit.wiring import budget_from_config
                from crossdock.sync_engine.channels import ConnectorPool

                self._pool = ConnectorPool(self.cfg, self.db, budget=budget_from_config(self.cfg, self.db))
        return self._pool.get(channel)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


async def _body(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``cap`` (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(db: Database, kind: str, exc: EventError, *, ref: str | None = None) -> Response:
    refuse(db, source=kind, code=exc.code, channel=exc.channel, ref=ref, detail=exc.detail or "")
    return JSONResponse({"code": exc.code, "title": exc.spec.title}, status_code=STATUS.get(exc.code, 400))


def _handle(receivers: Receivers, kind: str, request: HookRequest) -> Response:
    """Blocking part of a delivery (the receiver may fetch a signing key; the intake writes)."""
    db = receivers.db
    receiver = receivers.get(kind)
    if receiver is None:
        return _refused(db, kind[:32], EventError("XD-EVT-005", detail=f"no receiver for /hooks/{kind[:60]}"))
    if request.method == "GET":
        reply: HookReply | None
        try:
            reply = receiver.answer(request)
        except EventError as exc:
            return _refused(db, kind, exc)
        if reply is None:
            return PlainTextResponse("method not allowed", status_code=405)
        return JSONResponse(dict(reply.body), status_code=reply.status)
    try:
        deliveries = receiver.receive(request)
    except EventError as exc:
        return _refused(db, kind, exc)
    for d in deliveries:
        accept(db, channel=d.channel, source=kind, topic=d.topic, delivery_id=d.delivery_id, order_ids=d.order_ids,
               erase=d.erase)
    return Response(status_code=receiver.ack_status)


async def hook(request: Request) -> Response:
    receivers: Receivers = request.app.state.event_receivers
    kind = str(request.path_params["kind"])
    key = request.path_params.get("key")
    body = b""
    if request.method == "POST":
        read = await _body(request, receivers.max_body_bytes)
        if read is None:
            err = EventError("XD-EVT-002", detail=f"body over {receivers.max_body_bytes} bytes, not read")
            return await run_in_threadpool(_refused, receivers.db, kind[:32], err)
        body = read
    path = request.url.path
    url = f"{receivers.public_url}{path}" if receivers.public_url else str(request.url.replace(query=""))
    req = HookRequest(method=request.method, url=url, headers={k.lower(): v for k, v in request.headers.items()},
                      query=dict(request.query_params), body=body, key=key)
    return await run_in_threadpool(_handle, receivers, kind, req)


ROUTES = [Route("/hooks/{kind}", hook, methods=["GET", "POST"]),
          Route("/hooks/{kind}/{key}", hook, methods=["GET", "POST"])]


def install(app: Starlette, cfg: Any, db: Database, *, secret_key: str) -> None:
    """Give ``app`` (which has :data:`ROUTES`) its receivers."""
    app.state.event_receivers = Receivers(cfg, db, secret_key=secret_key)


@contextlib.asynccontextmanager
async def closing_receivers(app: Starlette) -> AsyncIterator[None]:
    """The app's lifespan: the receivers' connectors (an HTTP pool each: eBay's
    public keys are fetched through one) are closed when the server stops."""
    try:
        yield
    finally:
        receivers = getattr(app.state, "event_receivers", None)
        if receivers is not None:
            receivers.close()


def build_events_app(cfg: Any, db: Database, *, secret_key: str) -> Starlette:
    """``crossdock serve --events-only``: the hooks and ``/healthz``, nothing of the console."""
    app = Starlette(routes=[Route("/healthz", lambda request: PlainTextResponse("ok")), *ROUTES],
                    lifespan=closing_receivers)
    install(app, cfg, db, secret_key=secret_key)
    return app
