"""``/api/``: the CLI's ``--json`` documents over HTTP, for other tools.

Each route builds its document with the function the CLI command uses
(``sync status``, ``logs``, ``logs trace``, ``jobs failed``, ``jobs retry``,
``audit``) and serialises it as ``emit_json`` does, so ``GET /api/orders/ID``
is byte-for-byte the document ``crossdock logs trace ID --json`` prints.
Authentication: ``Authorization: Bearer TOKEN`` (``crossdock users token``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crossdock import synclog
from crossdock.audit import audit_doc
from crossdock.since import parse_since
from crossdock.console import actions
from crossdock.console.guard import api_user
from crossdock.console.orders import search_doc
from crossdock.errors import ConfigError
from crossdock.output import to_jsonable

__all__ = ["ROUTES", "doc_response"]


def doc_response(doc: Any, status: int = 200) -> Response:
    """``doc`` serialised exactly as the CLI's ``--json`` (:func:`crossdock.output.emit_json`)."""
    body = json.dumps(to_jsonable(doc), indent=2, ensure_ascii=False) + "\n"
    return Response(body, status_code=status, media_type="application/json")


def _int(value: Any, name: str, default: int, *, top: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"{name}={value!r}: a whole number") from None
    if not 1 <= n <= top:
        raise ConfigError("XD-CFG-009", detail=f"{name}={n}: 1 to {top}")
    return n


def status(request: Request) -> Response:
    from crossdock.sync_engine.status import sync_status_doc

    api_user(request)
    return doc_response(sync_status_doc(request.app.state.cfg, request.app.state.db, actions.timestamp()))


def orders(request: Request) -> Response:
    api_user(request)
    p = request.query_params
    with request.app.state.db.read() as s:
        return doc_response(search_doc(s, q=p.get("q"), sku=p.get("sku"), country=p.get("country"),
                                       channel=p.get("channel"), status=p.get("status"),
                                       since=parse_since(p.get("since")), until=parse_since(p.get("until")),
                                       page=_int(p.get("page"), "page", 1, top=200)))


def order_trace(request: Request) -> Response:
    api_user(request, "trace")
    with request.app.state.db.read() as s:
        return doc_response(synclog.trace_doc(s, request.path_params["order_id"]))


def logs(request: Request) -> Response:
    api_user(request, "logs")
    p = request.query_params
    with request.app.state.db.read() as s:
        return doc_response(synclog.events_doc(s, channel=p.get("channel"), code=p.get("code"),
                                               since=parse_since(p.get("since")), entity=p.get("entity"),
                                               outcome=p.get("outcome"),
                                               limit=_int(p.get("limit"), "limit", 200, top=100_000)))


def jobs_failed(request: Request) -> Response:
    from crossdock.sync_engine.outbox_admin import failed_doc

    api_user(request)
    p = request.query_params
    return doc_response(failed_doc(request.app.state.db, channel=p.get("channel"), kind=p.get("kind"),
                                   limit=_int(p.get("limit"), "limit", 500, top=100_000)))


async def job_retry(request: Request) -> Response:
    account = await run_in_threadpool(api_user, request, "jobs.retry")
    doc = await actions.retry(request.app.state.db, account, "api", request.path_params["job_id"])
    return doc_response(doc, 200 if doc["retried"] else 409)


async def channel_pause(request: Request) -> Response:
    account = await run_in_threadpool(api_user, request, "channels.pause")
    reason = request.query_params.get("reason") or f"paused through the API by {account.name}"
    return doc_response(await actions.pause(request.app.state.db, account, "api", request.path_params["name"],
                                            reason))


async def channel_resume(request: Request) -> Response:
    account = await run_in_threadpool(api_user, request, "channels.resume")
    return doc_response(await actions.resume(request.app.state.db, account, "api", request.path_params["name"]))


async def channel_refresh(request: Request) -> Response:
    """A new access token now (= ``crossdock auth refresh NAME --json``): the dates, never a token."""
    account = await run_in_threadpool(api_user, request, "channels.refresh")
    return doc_response(await actions.refresh(request.app.state.cfg, request.app.state.db, account, "api",
                                              request.path_params["name"]))


def audit(request: Request) -> Response:
    api_user(request, "audit.read")
    p = request.query_params
    with request.app.state.db.read() as s:
        return doc_response(audit_doc(s, action=p.get("action"), actor_name=p.get("actor"),
                                      limit=_int(p.get("limit"), "limit", 200, top=100_000)))


def metrics(request: Request) -> Response:
    """Prometheus exposition of the engine's state, read at scrape time
    (:mod:`crossdock.metrics`), for a viewer's API token (Prometheus:
    ``authorization: {credentials: TOKEN}`` in the scrape config). The same
    figures as ``/api/status``: both are built from its document."""
    from crossdock.metrics.exposition import exposition

    api_user(request)
    body, content_type = exposition(request.app.state.cfg, request.app.state.db,
                                    accept=request.headers.get("accept"))
    return Response(body, media_type=content_type)


ROUTES = [
    Route("/api/status", status), Route("/api/orders", orders), Route("/api/orders/{order_id}", order_trace),
    Route("/api/logs", logs), Route("/api/jobs/failed", jobs_failed),
    Route("/api/jobs/{job_id:int}/retry", job_retry, methods=["POST"]),
    Route("/api/channels/{name}/pause", channel_pause, methods=["POST"]),
    Route("/api/channels/{name}/resume", channel_resume, methods=["POST"]),
    Route("/api/channels/{name}/refresh", channel_refresh, methods=["POST"]),
    Route("/api/audit", audit), Route("/metrics", metrics),
]
