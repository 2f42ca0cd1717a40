"""Shopify error bodies -> crossdock errors. Tables, not if-chains.

Three places Shopify reports failure:

* HTTP status with a small body (401 invalid token, 404 unknown API version or
  shop, 402 frozen shop, 423 locked shop, 429 legacy REST throttle);
* top-level GraphQL ``errors[]`` with HTTP 200, classified by
  ``extensions.code`` (THROTTLED, MAX_COST_EXCEEDED, …);
* ``userErrors[]`` inside a mutation payload, classified by ``code``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx

from crossdock.connectors.http import CallContext
from crossdock.errors import AuthError, CrossdockError, MappingError, NetError, PlatformError, QuotaError

#: HTTP status -> (class, code, what it means at Shopify). 429 is left to the shared table (Retry-After).
HTTP_STATUS: Mapping[int, tuple[type[CrossdockError], str, str]] = {
    401: (AuthError, "XD-AUTH-001", "access token rejected"),
    402: (PlatformError, "XD-PLATFORM-001", "shop frozen (payment required)"),
    403: (PlatformError, "XD-PLATFORM-001", "forbidden: the app lacks an access scope"),
    404: (PlatformError, "XD-PLATFORM-008", "API version not served or shop unknown"),
    423: (PlatformError, "XD-PLATFORM-001", "shop locked"),
}

#: GraphQL top-level ``extensions.code`` -> (class, code).
GRAPHQL_CODES: Mapping[str, tuple[type[CrossdockError], str]] = {
    "THROTTLED": (QuotaError, "XD-QUOTA-001"),
    "MAX_COST_EXCEEDED": (QuotaError, "XD-QUOTA-005"),
    "MAX_INPUT_SIZE_EXCEEDED": (PlatformError, "XD-PLATFORM-006"),
    "ACCESS_DENIED": (PlatformError, "XD-PLATFORM-001"),
    "SHOP_INACTIVE": (PlatformError, "XD-PLATFORM-001"),
    "BAD_REQUEST": (PlatformError, "XD-PLATFORM-001"),
    "INTERNAL_SERVER_ERROR": (NetError, "XD-NET-003"),
}

#: ``userErrors[].code`` -> crossdock code (per item).
USER_ERROR_CODES: Mapping[str, str] = {
    "CHANGE_FROM_QUANTITY_STALE": "XD-PLATFORM-005",
    "COMPARE_QUANTITY_STALE": "XD-PLATFORM-005",
    "IDEMPOTENCY_CONCURRENT_REQUEST": "XD-PLATFORM-005",
    "INVALID_INVENTORY_ITEM": "XD-PLATFORM-002",
    "INVALID_LOCATION": "XD-PLATFORM-002",
    "ITEM_NOT_STOCKED_AT_LOCATION": "XD-PLATFORM-002",
    "PRODUCT_DOES_NOT_EXIST": "XD-PLATFORM-002",
    "PRODUCT_VARIANT_DOES_NOT_EXIST": "XD-PLATFORM-002",
    "GREATER_THAN_OR_EQUAL_TO": "XD-MAP-003",
    "INVALID_QUANTITY_NEGATIVE": "XD-PLATFORM-001",
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": "XD-PLATFORM-001",
}

#: OAuth ``error`` of the token endpoint -> code.
TOKEN_ERRORS: Mapping[str, str] = {
    "invalid_grant": "XD-AUTH-002",       # refresh token expired, revoked or already rotated away
    "invalid_client": "XD-AUTH-004",      # client id / secret rejected (rotated secret)
    "unauthorized_client": "XD-AUTH-004",
    "invalid_request": "XD-AUTH-002",
}


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def platform_error(resp: httpx.Response, ctx: CallContext) -> CrossdockError | None:
    """For :func:`crossdock.connectors.http.send`: Shopify's meaning of a non-2xx status."""
    entry = HTTP_STATUS.get(resp.status_code)
    if entry is None:
        return None
    cls, code, meaning = entry
    body = _json(resp)
    said = body.get("errors") if isinstance(body, Mapping) else None
    return cls(code, channel=ctx.channel, entity=ctx.entity, operation=ctx.operation, status=resp.status_code,
               detail=f"{ctx.operation}: HTTP {resp.status_code} ({meaning}): {said or resp.text[:200]}")


def throttle_wait_s(cost: Mapping[str, Any] | None) -> float | None:
    """Seconds until the bucket holds the requested points again."""
    if not cost:
        return None
    status = cost.get("throttleStatus") or {}
    try:
        requested = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return None
    if rate <= 0:
        return None
    return max(0.0, math.ceil((requested - available) / rate * 100) / 100)


def graphql_error(payload: Mapping[str, Any], ctx: CallContext) -> CrossdockError | None:
    """The crossdock error for a body with top-level ``errors``, or None when there are none."""
    raw = payload.get("errors")
    if not raw:
        return None
    errors: list[Any] = [{"message": str(raw)}] if isinstance(raw, (str, Mapping)) else list(raw)
    first: Mapping[str, Any] = errors[0] if isinstance(errors[0], Mapping) else {"message": str(errors[0])}
    known = next((e for e in errors if isinstance(e, Mapping) and (e.get("extensions") or {}).get("code")
                  in GRAPHQL_CODES), None)
    chosen = known or first
    code_name = (chosen.get("extensions") or {}).get("code")
    cls, code = (GRAPHQL_CODES.get(code_name, (PlatformError, "XD-PLATFORM-001")) if isinstance(code_name, str)
                 else (PlatformError, "XD-PLATFORM-001"))
    messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping))[:500]
    wait = throttle_wait_s((payload.get("extensions") or {}).get("cost")) if code_name == "THROTTLED" else None
    return cls(code, channel=ctx.channel, entity=ctx.entity, operation=ctx.operation, retry_after_s=wait,
               detail=f"{ctx.operation}: {code_name or 'GraphQL error'}: {messages}", shopify_code=code_name)


def user_error_code(code: str | None) -> str:
    return USER_ERROR_CODES.get(code or "", "XD-PLATFORM-001")


def token_error(resp: httpx.Response, ctx: CallContext) -> CrossdockError:
    """The token endpoint refused: which credential is at fault."""
    body = _json(resp)
    err = body.get("error") if isinstance(body, Mapping) else None
    desc = body.get("error_description") if isinstance(body, Mapping) else None
    code = TOKEN_ERRORS.get(str(err), "XD-AUTH-004" if resp.status_code == 401 else "XD-AUTH-002")
    return AuthError(code, channel=ctx.channel, operation=ctx.operation, status=resp.status_code,
                     detail=f"token refresh: HTTP {resp.status_code} {err or ''}: {desc or resp.text[:200]}")


def unreadable(ctx: CallContext, what: str) -> MappingError:
    return MappingError("XD-MAP-010", channel=ctx.channel, entity=ctx.entity, detail=f"{ctx.operation}: {what}")
