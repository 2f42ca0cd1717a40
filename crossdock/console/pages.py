"""The console's pages: server-rendered, no JavaScript needed.

Each page asks :func:`~crossdock.console.guard.page_user` for the action it
shows (read, trace, logs, audit.read) and builds what it shows with the CLI's
document functions. A part of a page the user's role may not see is shown as
the refusal (its code and the role it needs), never left out silently.
Every form carries the session's CSRF token; every POST checks it first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crossdock import synclog
from crossdock.access.roles import require
from crossdock.access.users import Account
from crossdock.audit import audit_doc
from crossdock.console import actions
from crossdock.console.guard import check_csrf, csrf_for, page_user
from crossdock.console.orders import search_doc, order_doc
from crossdock.errors import CATALOGUE, AccessError, CrossdockError, lookup
from crossdock.errors.catalogue import AREAS
from crossdock.since import parse_since

__all__ = ["ROUTES"]


def _render(request: Request, name: str, user: Account, **context: Any) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf_for(request), **context})


def _refusal(user: Account, action: str) -> CrossdockError | None:
    try:
        require(user.name, user.role, action)
    except AccessError as exc:
        return exc
    return None


def overview(request: Request) -> Response:
    from crossdock.connectors.credentials import auth_status_doc
    from crossdock.sync_engine.status import sync_status_doc

    user = page_user(request)
    state, now = request.app.state, actions.timestamp()
    status = sync_status_doc(state.cfg, state.db, now)
    try:
        auth: dict[str, Any] = auth_status_doc(state.cfg, state.db, now)
        auth_error = None
    except CrossdockError as exc:        # a key that cannot read the stored tokens: said, not hidden
        auth, auth_error = {"channels": []}, exc
    from crossdock.console.overview import credential_days, quota_by_channel

    warnings = {c["channel"]: c for c in auth["channels"]}
    days = {name: credential_days(warnings.get(name), now) for name in status["channels"]}
    quota, quota_error = quota_by_channel(state.cfg, state.db)
    checked_at, problems = _recent_problems(state, now, status)
    return _render(request, "overview.html", user, status=status, auth=warnings, auth_error=auth_error,
                   days=days, quota=quota, quota_error=quota_error, problems=problems, problems_at=checked_at)


#: The doctor's offline checks take a few hundred ms on a large shop (stuck orders, drift, parcels):
#: the overview shows their findings from at most this long ago, with the time they were made.
PROBLEMS_TTL_S = 30.0


def _recent_problems(state: Any, now: Any, status: dict[str, Any]) -> tuple[Any, list[Any]]:
    import time

    cached = getattr(state, "problems", None)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    problems = _problems(state.cfg, state.db, now, status)
    state.problems = (time.monotonic() + PROBLEMS_TTL_S, now, problems)
    return now, problems


def _problems(cfg: Any, db: Any, now: Any, status: dict[str, Any]) -> list[Any]:
    """What ``crossdock doctor`` (offline) finds wrong, worst first: each with its code and remedy."""
    from crossdock.doctor.model import SEVERITY, DoctorContext
    from crossdock.doctor.run import evaluate
    from crossdock.sync_engine.status import platform_now_of

    ctx = DoctorContext(cfg=cfg, db=db, now=now, platform_now=platform_now_of(cfg, now), _status=status)
    try:
        found = [r for r in evaluate(ctx, sorted(cfg.channels), system=False) if r.status != "ok"]
    finally:
        ctx.close()
    return sorted(found, key=lambda r: (-SEVERITY[r.status], r.channel or "", r.check))


def orders(request: Request) -> Response:
    user = page_user(request)
    p = request.query_params
    filters = {k: p.get(k) or "" for k in ("q", "sku", "country", "channel", "status", "since", "until")}
    page = int(p["page"]) if p.get("page", "").isdigit() else 1
    with request.app.state.db.read() as s:
        doc = search_doc(s, q=filters["q"], sku=filters["sku"], country=filters["country"],
                         channel=filters["channel"], status=filters["status"],
                         since=parse_since(filters["since"]), until=parse_since(filters["until"]), page=page)
    return _render(request, "orders.html", user, doc=doc, filters=filters)


def order(request: Request) -> Response:
    user = page_user(request)
    order_id = request.path_params["order_id"]
    refused = _refusal(user, "trace")
    with request.app.state.db.read() as s:
        found = order_doc(s, order_id)
        trace = synclog.trace_doc(s, order_id) if refused is None else None
    return _render(request, "order.html", user, order_id=order_id, orders=found, trace=trace,
                   trace_refused=refused)


def logs(request: Request) -> Response:
    user = page_user(request, "logs")
    p = request.query_params
    filters = {k: p.get(k) or "" for k in ("channel", "code", "area", "since", "outcome", "entity")}
    # a code (XD-AUTH-002) or its area's prefix (XD-AUTH); the area list picks the prefix
    code = filters["code"].strip() or (f"XD-{filters['area']}" if filters["area"] in AREAS else "")
    with request.app.state.db.read() as s:
        rows = synclog.events_doc(s, channel=filters["channel"] or None, code=code or None,
                                  since=parse_since(filters["since"]), outcome=filters["outcome"] or None,
                                  entity=filters["entity"] or None, limit=200)
    return _render(request, "logs.html", user, rows=rows, filters=filters, areas=AREAS)


def errors(request: Request) -> Response:
    user = page_user(request)
    return _render(request, "errors.html", user, catalogue=list(CATALOGUE.values()), areas=AREAS)


def error_page(request: Request) -> Response:
    user = page_user(request)
    try:
        spec = lookup(request.path_params["code"])
    except KeyError:
        from crossdock.errors import ConfigError

        raise ConfigError("XD-CFG-009", detail=f"no error code {request.path_params['code']!r}") from None
    from crossdock.console.fixes import console_fixes

    return _render(request, "error_code.html", user, spec=spec, area=AREAS[spec.area],
                   fixes=console_fixes(spec.code))


def jobs(request: Request) -> Response:
    from crossdock.sync_engine.outbox_admin import failed_doc, jobs_doc

    user = page_user(request)
    db = request.app.state.db
    return _render(request, "jobs.html", user, failed=failed_doc(db, limit=200)["failed"],
                   queued=jobs_doc(db, status="pending", limit=200)["jobs"],
                   can_retry=_refusal(user, "jobs.retry") is None, done=request.query_params.get("done"))


def channels(request: Request) -> Response:
    from crossdock.connectors.credentials import auth_status_doc
    from crossdock.sync_engine.status import sync_status_doc

    user = page_user(request)
    now = actions.timestamp()
    status = sync_status_doc(request.app.state.cfg, request.app.state.db, now)
    # the credential dates (`crossdock auth status`): an admin's (the dates, never a token)
    credentials = (auth_status_doc(request.app.state.cfg, request.app.state.db, now)["channels"]
                   if _refusal(user, "credentials") is None else None)
    return _render(request, "channels.html", user, channels=status["channels"], credentials=credentials,
                   can_pause=_refusal(user, "channels.pause") is None,
                   can_refresh=_refusal(user, "channels.refresh") is None, done=request.query_params.get("done"))


def audit(request: Request) -> Response:
    user = page_user(request, "audit.read")
    with request.app.state.db.read() as s:
        doc = audit_doc(s, limit=200)
    return _render(request, "audit.html", user, records=doc["records"])


async def _post(request: Request, action: str) -> tuple[Account, dict[str, Any]]:
    """The user, once the form's CSRF token is checked, allowed ``action``."""
    user: Account = await run_in_threadpool(page_user, request)
    form = await check_csrf(request)
    require(user.name, user.role, action)
    return user, form


async def job_retry(request: Request) -> Response:
    user, _ = await _post(request, "jobs.retry")
    job_id = request.path_params["job_id"]
    doc = await actions.retry(request.app.state.db, user, "console", job_id)
    done = f"job {job_id} back to pending" if doc["retried"] else f"job {job_id}: {doc['not_retried'][0]['reason']}"
    return RedirectResponse("/jobs?" + urlencode({"done": done}), status_code=303)


async def channel_pause(request: Request) -> Response:
    user, form = await _post(request, "channels.pause")
    name = request.path_params["name"]
    reason = str(form.get("reason") or "").strip() or f"paused in the console by {user.name}"
    doc = await actions.pause(request.app.state.db, user, "console", name, reason)
    done = f"{name} paused" if doc["paused"] else f"{name} was paused already ({doc['paused_code']})"
    return RedirectResponse("/channels?" + urlencode({"done": done}), status_code=303)


async def channel_refresh(request: Request) -> Response:
    user, _ = await _post(request, "channels.refresh")
    name = request.path_params["name"]
    doc = await actions.refresh(request.app.state.cfg, request.app.state.db, user, "console", name)
    done = f"{name}: new access token, valid until {doc['access_expires_at']}"
    return RedirectResponse("/channels?" + urlencode({"done": done}), status_code=303)


async def channel_resume(request: Request) -> Response:
    user, _ = await _post(request, "channels.resume")
    name = request.path_params["name"]
    doc = await actions.resume(request.app.state.db, user, "console", name)
    done = f"{name} resumed (was {doc['was_paused_with']})" if doc["resumed"] else f"{name} was not paused"
    return RedirectResponse("/channels?" + urlencode({"done": done}), status_code=303)


ROUTES = [
    Route("/", overview), Route("/orders", orders), Route("/orders/{order_id}", order), Route("/logs", logs),
    Route("/errors", errors), Route("/errors/{code}", error_page), Route("/jobs", jobs),
    Route("/channels", channels), Route("/audit", audit),
    Route("/jobs/{job_id:int}/retry", job_retry, methods=["POST"]),
    Route("/channels/{name}/pause", channel_pause, methods=["POST"]),
    Route("/channels/{name}/resume", channel_resume, methods=["POST"]),
    Route("/channels/{name}/refresh", channel_refresh, methods=["POST"]),
]
