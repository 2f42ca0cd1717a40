"""Amazon error bodies -> crossdock errors, by table.

SP-API errors are ``{"errors": [{code, message, details}]}``; Login with Amazon
answers ``{"error", "error_description"}``. The first matching row wins. The
``reason`` a row gives (``expired``, ``revoked``, …) travels in the error's
context so the client knows when one token refresh and retry is the remedy.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import httpx

from crossdock.clock import Clock
from crossdock.connectors.base import TokenState
from crossdock.connectors.http import CallContext
from crossdock.errors import AuthError, CrossdockError, OrderError, PlatformError, QuotaError


@dataclass(frozen=True)
class Row:
    status: int | None              # HTTP status, None = any
    code: str | None                # Amazon error code, None = any
    text: str | None                # substring of message or details (case-insensitive), None = any
    operation: str | None           # operation, None = any
    error: type[CrossdockError]
    xd_code: str
    reason: str


#: SP-API responses. Order matters: specific rows first.
SP_API_TABLE: tuple[Row, ...] = (
    Row(403, "Unauthorized", "has expired", None, AuthError, "XD-AUTH-001", "expired"),
    Row(403, "Unauthorized", "revoked, malformed or invalid", None, AuthError, "XD-AUTH-001", "revoked"),
    Row(403, None, None, "createRestrictedDataToken", AuthError, "XD-AUTH-006", "rdt_refused"),
    Row(400, None, None, "createRestrictedDataToken", AuthError, "XD-AUTH-006", "rdt_refused"),
    Row(403, None, None, "getOrderAddress", AuthError, "XD-AUTH-006", "rdt_required"),
    Row(403, None, None, None, AuthError, "XD-AUTH-001", "denied"),
    Row(401, None, None, None, AuthError, "XD-AUTH-001", "unauthenticated"),
    Row(429, None, None, None, QuotaError, "XD-QUOTA-001", "throttled"),
    Row(400, "InvalidInput", "at least 2 minutes before current time", "getOrders", OrderError, "XD-ORD-001",
        "two_minute_rule"),
    Row(400, None, None, "confirmShipment", PlatformError, "XD-PLATFORM-007", "shipment_rejected"),
    Row(404, None, None, None, PlatformError, "XD-PLATFORM-002", "not_found"),
    Row(413, None, None, None, PlatformError, "XD-PLATFORM-006", "too_large"),
    Row(400, None, None, None, PlatformError, "XD-PLATFORM-001", "invalid"),
    Row(409, None, None, None, PlatformError, "XD-PLATFORM-005", "conflict"),
    Row(415, None, None, None, PlatformError, "XD-PLATFORM-001", "unsupported_media_type"),
)

#: Login with Amazon token endpoint: (status, error) -> (code, reason).
LWA_TABLE: tuple[tuple[int | None, str | None, str, str], ...] = (
    (401, "invalid_client", "XD-AUTH-004", "invalid_client"),
    (400, "invalid_client", "XD-AUTH-004", "invalid_client"),
    (400, "invalid_grant", "XD-AUTH-002", "invalid_grant"),
    (400, "unauthorized_client", "XD-AUTH-002", "unauthorized_client"),
    (None, None, "XD-AUTH-002", "token_endpoint_error"),
)


def sp_api_errors(resp: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _matches(row: Row, status: int, op: str, err: dict[str, Any]) -> bool:
    if row.status is not None and row.status != status:
        return False
    if row.operation is not None and row.operation != op:
        return False
    if row.code is not None and err.get("code") != row.code:
        return False
    if row.text is not None:
        text = f"{err.get('message', '')} {err.get('details', '')}".lower()
        if row.text.lower() not in text:
            return False
    return True


def error_for(resp: httpx.Response, ctx: CallContext, *, rate_per_s: float | None = None,
              clock: Clock | None = None) -> CrossdockError | None:
    """The crossdock error for an SP-API error response (None: let the generic
    status table decide). A 429 carries ``retry_after_s`` = the time one token
    takes to come back at the operation's rate, in real seconds."""
    errors = sp_api_errors(resp) or [{}]
    err = errors[0]
    for row in SP_API_TABLE:
        if not _matches(row, resp.status_code, ctx.operation, err):
            continue
        detail = f"{ctx.operation}: HTTP {resp.status_code} {err.get('code', '')}: {err.get('message', '')}"
        if err.get("details"):
            detail += f" ({err['details']})"
        retry = None
        if row.error is QuotaError and rate_per_s:
            wait_platform_s = 1.0 / rate_per_s
            retry = (clock or Clock()).to_real_s(wait_platform_s)
        elif row.reason == "two_minute_rule":
            retry = (clock or Clock()).to_real_s(5.0)
        return row.error(row.xd_code, channel=ctx.channel, entity=ctx.entity, detail=detail,
                         retry_after_s=retry, operation=ctx.operation, status=resp.status_code,
                         reason=row.reason, amazon_code=err.get("code"))
    return None


def lwa_error(resp: httpx.Response, ctx: CallContext, *, state: TokenState | None = None,
              now: dt.datetime | None = None) -> AuthError | None:
    """The crossdock error for a failed LWA token request. ``invalid_grant``
    after the seller authorisation's known end date is XD-AUTH-003 (Amazon
    answers the same way for a revoked and a lapsed authorisation; only the
    date tells them apart)."""
    if resp.status_code == 429 or resp.status_code >= 500:
        return None
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description", "") if isinstance(body, dict) else ""
    for status, name, code, reason in LWA_TABLE:
        if (status is None or status == resp.status_code) and (name is None or name == error):
            if code == "XD-AUTH-002" and state is not None and state.authorisation_expires_at is not None \
                    and now is not None and state.authorisation_expires_at <= now:
                code, reason = "XD-AUTH-003", "authorisation_expired"
            return AuthError(code, channel=ctx.channel, detail=f"Login with Amazon: HTTP {resp.status_code} "
                             f"{error or ''}: {description}".strip(), operation=ctx.operation,
                             status=resp.status_code, reason=reason)
    return None
