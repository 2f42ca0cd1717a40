"""The one place HTTP failures become crossdock errors.

Every connector's client sends through :func:`send`: it asks the quota budget
first, sets a timeout on every call, translates httpx exceptions once, refuses
to read an HTML or unparsable body as data, and tells the budget what the
platform said (rate headers, 429s). Classification is a table, not an if-chain
(Airbyte CDK style).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

import httpx

from crossdock.errors import AuthError, CrossdockError, NetError, PlatformError, QuotaError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0


class Budget(Protocol):
    """The part of :class:`crossdock.ratelimit.budget.QuotaBudget` a client uses."""

    def acquire(self, platform: str, account: str, operation: str, *, cost: float = 1,
                priority: Any = None, timeout_s: float | None = None) -> None: ...

    def on_response(self, platform: str, account: str, operation: str, *, status: int,
                    headers: Mapping[str, str] | None = None, cost_report: Mapping | None = None) -> None: ...


@dataclass(frozen=True)
class CallContext:
    platform: str
    account: str
    channel: str
    operation: str
    priority: Any = None
    cost: float = 1.0
    entity: str | None = None


# status -> (error class, code). 401/403 are left to the platform's own parser
# first (they carry the token-vs-authorisation distinction), then fall back here.
STATUS_TABLE: dict[int, tuple[type[CrossdockError], str]] = {
    400: (PlatformError, "XD-PLATFORM-001"),
    401: (AuthError, "XD-AUTH-001"),
    403: (AuthError, "XD-AUTH-001"),
    404: (PlatformError, "XD-PLATFORM-002"),
    409: (PlatformError, "XD-PLATFORM-005"),
    413: (PlatformError, "XD-PLATFORM-006"),
    422: (PlatformError, "XD-PLATFORM-001"),
    429: (QuotaError, "XD-QUOTA-001"),
}

EXCEPTION_TABLE: tuple[tuple[type[Exception], str], ...] = (
    (httpx.TimeoutException, "XD-NET-002"),
    (httpx.RemoteProtocolError, "XD-NET-001"),
    (httpx.ConnectError, "XD-NET-001"),
    (httpx.NetworkError, "XD-NET-001"),
    (httpx.TransportError, "XD-NET-001"),
)


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def looks_like_html(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "")
    if "html" in ctype:
        return True
    head = resp.content[:64].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def send(
    client: httpx.Client,
    request: httpx.Request,
    ctx: CallContext,
    *,
    budget: Budget | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    platform_error: Callable[[httpx.Response, CallContext], CrossdockError | None] | None = None,
    cost_report: Callable[[httpx.Response], Mapping | None] | None = None,
) -> httpx.Response:
    """Send one request and return a 2xx response whose body is not HTML.

    ``platform_error(resp, ctx)`` lets a connector turn the platform's own error
    body into a precise code (it may return None to fall back to the table);
    ``cost_report(resp)`` what the body says a call cost (the budget reads it
    with the platform's ``read_quota``).
    """
    if budget is not None:
        budget.acquire(ctx.platform, ctx.account, ctx.operation, cost=ctx.cost, priority=ctx.priority)
    request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
    started = time.perf_counter()
    try:
        resp = client.send(request)
    except tuple(exc for exc, _ in EXCEPTION_TABLE) as exc:
        code = next(c for e, c in EXCEPTION_TABLE if isinstance(exc, e))
        raise NetError(code, channel=ctx.channel, entity=ctx.entity,
                       detail=f"{ctx.operation}: {type(exc).__name__}: {exc}", operation=ctx.operation) from exc
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.debug("%s %s %s -> %s in %.0f ms", ctx.channel, ctx.operation, request.url.path, resp.status_code, elapsed_ms)
    if budget is not None:
        cost_info = cost_report(resp) if cost_report else None
        budget.on_response(ctx.platform, ctx.account, ctx.operation, status=resp.status_code,
                           headers=resp.headers, cost_report=cost_info)
    check(resp, ctx, platform_error=platform_error)
    return resp


def check(resp: httpx.Response, ctx: CallContext, *,
          platform_error: Callable[[httpx.Response, CallContext], CrossdockError | None] | None = None) -> None:
    """Raise the right crossdock error for a non-2xx or unreadable response."""
    status = resp.status_code
    if 200 <= status < 300:
        if looks_like_html(resp):
            raise NetError("XD-NET-004", channel=ctx.channel, entity=ctx.entity,
                           detail=f"{ctx.operation}: HTML body with status {status}", operation=ctx.operation)
        return
    if status >= 500:
        kind = "HTML" if looks_like_html(resp) else "error"
        raise NetError("XD-NET-003", channel=ctx.channel, entity=ctx.entity,
                       detail=f"{ctx.operation}: HTTP {status} ({kind} body)", operation=ctx.operation,
                       status=status)
    if platform_error is not None:
        err = platform_error(resp, ctx)
        if err is not None:
            raise err
    cls, code = STATUS_TABLE.get(status, (PlatformError, "XD-PLATFORM-001"))
    wait = retry_after_s(resp.headers) if status == 429 else None
    raise cls(code, channel=ctx.channel, entity=ctx.entity, retry_after_s=wait,
              detail=f"{ctx.operation}: HTTP {status}: {resp.text[:300]}", operation=ctx.operation, status=status)


def json_body(resp: httpx.Response, ctx: CallContext) -> Any:
    """Parse a JSON body; an unparsable one is XD-NET-004, never an empty result."""
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NetError("XD-NET-004", channel=ctx.channel, entity=ctx.entity,
                       detail=f"{ctx.operation}: malformed JSON: {exc}", operation=ctx.operation) from exc
