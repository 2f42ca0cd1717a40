"""The one place HTTP failures become crossdock errors.

Every connector's client sends through :func:`send`. One call is:

- **quota first, never slept for**: each attempt asks the budget
  (:meth:`QuotaBudget.attempt`, it answers at once); no quota now raises
  :class:`~crossdock.ratelimit.waits.QuotaWait` with the exact delay, so the
  worker thread is freed and the engine runs the job again later without
  using an attempt (inside :func:`~crossdock.ratelimit.waits.inline_waits`, a
  person's one-off command, a short wait is slept through instead);
- a timeout on every attempt; httpx exceptions translated once, ``from exc``,
  by a table (Airbyte CDK style, not an if-chain); an HTML or unparsable body
  is never read as data;
- the budget told what the platform said (rate headers, cost reports, 429s);
- **transient transport failures retried in the call** by tenacity
  (:class:`TransientRetry`): a refused or reset connection, a timeout, a 5xx.
  Each attempt asks the budget again (the platform counts every attempt);
  attempts and back-off are bounded (by default 3 attempts, under a second
  of back-off, none started 10 s after the call began), so a worker is held
  seconds, not minutes. A request that may have reached the platform is
  retried only when it is idempotent (by method, or ``CallContext.idempotent``).
  A 429 is not retried here: the budget hears it and the caller waits
  (XD-QUOTA-001 with ``retry_after_s``).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from crossdock.errors import AuthError, CrossdockError, NetError, PlatformError, QuotaError
from crossdock.ratelimit.budget import Grant, Priority
from crossdock.ratelimit.waits import QuotaWait, wait_or_raise

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0

PlatformErrorFn = Callable[[httpx.Response, "CallContext"], CrossdockError | None]
CostReportFn = Callable[[httpx.Response], Mapping[str, Any] | None]


class Budget(Protocol):
    """The part of :class:`crossdock.ratelimit.budget.QuotaBudget` a client uses:
    ``attempt`` answers at once (granted, or the wait), ``on_response`` learns."""

    def attempt(self, platform: str, account: str, operation: str, *, cost: float = 1,
                priority: Priority | None = None) -> Grant: ...

    def on_response(self, platform: str, account: str, operation: str, *, status: int,
                    headers: Mapping[str, str] | None = None,
                    cost_report: Mapping[str, Any] | None = None) -> None: ...


@dataclass(frozen=True)
class CallContext:
    platform: str
    account: str
    channel: str
    operation: str
    priority: Priority | None = None
    cost: float = 1.0
    entity: str | None = None
    #: may the request go out twice (None: by its HTTP method)
    idempotent: bool | None = None


#: Methods a platform applies at most once however often they arrive.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: The catalogue's transient transport failures: unreachable/reset, timed out, 5xx.
TRANSIENT_CODES = frozenset({"XD-NET-001", "XD-NET-002", "XD-NET-003"})
#: Failures that happened before the request left: safe to send again whatever the method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class TransientRetry:
    """How :func:`send` retries a transient transport failure within one call:
    at most ``attempts`` attempts, exponential back-off from ``first_wait_s``
    (with up to ``jitter_s`` added) capped at ``max_wait_s`` per wait, and no
    new attempt once ``give_up_after_s`` passed since the call began.
    ``sleep`` is the seam tests use to count the waits."""

    attempts: int = 3
    first_wait_s: float = 0.2
    max_wait_s: float = 1.0
    jitter_s: float = 0.1
    give_up_after_s: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def retrying(self, ctx: CallContext, method: str) -> Retrying:
        idempotent = ctx.idempotent if ctx.idempotent is not None else method.upper() in IDEMPOTENT_METHODS

        def transient(exc: BaseException) -> bool:
            if not isinstance(exc, NetError) or exc.code not in TRANSIENT_CODES:
                return False
            return idempotent or isinstance(exc.__cause__, NOT_SENT)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.info("%s %s: %s; trying again in %.2f s (attempt %d of %d)", ctx.channel, ctx.operation,
                     getattr(exc, "code", type(exc).__name__), wait, state.attempt_number + 1, self.attempts)

        return Retrying(stop=stop_after_attempt(self.attempts) | stop_after_delay(self.give_up_after_s),
                        wait=wait_exponential(multiplier=self.first_wait_s, max=self.max_wait_s)
                        + wait_random(0, self.jitter_s),
                        retry=retry_if_exception(transient), sleep=self.sleep, before_sleep=before_sleep,
                        reraise=True)


DEFAULT_RETRY = TransientRetry()
_retry_policy: contextvars.ContextVar[TransientRetry] = contextvars.ContextVar("crossdock_transient_retry",
                                                                               default=DEFAULT_RETRY)


@contextlib.contextmanager
def transient_retries(policy: TransientRetry) -> Iterator[None]:
    """Calls sent inside retry transient failures by ``policy`` instead of
    :data:`DEFAULT_RETRY` (``TransientRetry(attempts=1)``: not at all, when a
    caller wants every failure to reach the job)."""
    token = _retry_policy.set(policy)
    try:
        yield
    finally:
        _retry_policy.reset(token)


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


def take_quota(budget: Budget, ctx: CallContext) -> None:
    """Take quota for one attempt of ``ctx``'s call, or raise
    :class:`QuotaWait` with the wait (slept through only inside
    :func:`~crossdock.ratelimit.waits.inline_waits`). For clients that cannot
    send through :func:`send` (eBay Trading over ebaysdk)."""
    while True:
        grant = budget.attempt(ctx.platform, ctx.account, ctx.operation, cost=ctx.cost, priority=ctx.priority)
        if grant.granted:
            return
        wait_or_raise(QuotaWait.from_grant(grant, channel=ctx.channel, entity=ctx.entity))


def send(
    client: httpx.Client,
    request: httpx.Request,
    ctx: CallContext,
    *,
    budget: Budget | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    platform_error: PlatformErrorFn | None = None,
    cost_report: CostReportFn | None = None,
    sleep: Callable[[float], None] | None = None,
) -> httpx.Response:
    """Send one request and return a 2xx response whose body is not HTML
    (see the module doc: quota per attempt, transient failures retried).

    ``platform_error(resp, ctx)`` lets a connector turn the platform's own error
    body into a precise code (it may return None to fall back to the table);
    ``cost_report(resp)`` what the body says a call cost (the budget reads it
    with the platform's ``read_quota``); ``sleep`` the back-off's sleep (the
    client's test seam; default the policy's, see :func:`transient_retries`).
    """
    request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
    policy = _retry_policy.get()
    if sleep is not None:
        policy = dataclasses.replace(policy, sleep=sleep)
    return policy.retrying(ctx, request.method)(_attempt, client, request, ctx, budget=budget,
                                               platform_error=platform_error, cost_report=cost_report)


def _attempt(client: httpx.Client, request: httpx.Request, ctx: CallContext, *, budget: Budget | None,
             platform_error: PlatformErrorFn | None, cost_report: CostReportFn | None) -> httpx.Response:
    if budget is not None:
        take_quota(budget, ctx)
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


def check(resp: httpx.Response, ctx: CallContext, *, platform_error: PlatformErrorFn | None = None) -> None:
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
