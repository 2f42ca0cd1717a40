"""eBay error bodies → crossdock errors, by table.

Three shapes: REST ``errors[]`` of ``{errorId, domain, category, message,
longMessage, parameters}``; the OAuth token endpoint's
``{error, error_description}``; Trading ``Errors`` with ``ErrorCode`` (HTTP
200, ``Ack=Failure``). Ids marked (uncertain) are the sandbox's choice where
eBay's pages name no code; they are matched by message too.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import httpx

from crossdock.connectors.http import CallContext, retry_after_s
from crossdock.errors import (
    AuthError,
    CrossdockError,
    NetError,
    OrderError,
    PlatformError,
    QuotaError,
)

ErrorClass = type[CrossdockError]

#: REST errorId -> (class, code)
REST_ERRORS: dict[int, tuple[ErrorClass, str]] = {
    1001: (AuthError, "XD-AUTH-001"),        # invalid access token (the client refreshes once first)
    1100: (AuthError, "XD-AUTH-001"),        # insufficient permissions (missing OAuth scope)
    2001: (QuotaError, "XD-QUOTA-001"),      # too many requests (call limit)
    25001: (NetError, "XD-NET-003"),         # system error
    25025: (NetError, "XD-NET-003"),         # concurrent access of the same inventory object
    25702: (PlatformError, "XD-PLATFORM-002"),   # SKU not found
    25710: (PlatformError, "XD-PLATFORM-002"),   # resource not found
    25713: (PlatformError, "XD-PLATFORM-002"),   # offer not available
    30500: (NetError, "XD-NET-003"),         # fulfillment system error
    32100: (PlatformError, "XD-PLATFORM-002"),   # invalid order id
}
#: publishOffer / createOrReplaceInventoryItem content rejections (25002…25123)
LISTING_REJECTED = (PlatformError, "XD-PLATFORM-003")
#: the daily revision limit (250 per listing per day); 25019 is eBay's "cannot revise" family (uncertain)
REVISION_LIMIT_REST = frozenset({25019})
REVISION_LIMIT_TRADING = frozenset({21919189})

#: Trading ErrorCode -> (class, code)
TRADING_ERRORS: dict[int, tuple[ErrorClass, str]] = {
    931: (AuthError, "XD-AUTH-001"),         # auth token is invalid
    932: (AuthError, "XD-AUTH-009"),         # auth token hard-expired or revoked
    518: (QuotaError, "XD-QUOTA-002"),       # call usage limit reached
    219255: (NetError, "XD-NET-002"),        # timed out, retry
    21916254: (PlatformError, "XD-PLATFORM-006"),   # more than 4 InventoryStatus
    17: (PlatformError, "XD-PLATFORM-002"),  # item cannot be accessed
    21919474: (PlatformError, "XD-PLATFORM-001"),   # Inventory-API listing revised through Trading (uncertain)
}
TRADING_REFRESH_CODES = frozenset({931})     # an IAF (OAuth) token the client may refresh once

#: OAuth token endpoint "error" -> (class, code)
OAUTH_ERRORS: dict[str, tuple[ErrorClass, str]] = {
    "invalid_grant": (AuthError, "XD-AUTH-002"),
    "invalid_client": (AuthError, "XD-AUTH-004"),
    "unauthorized_client": (AuthError, "XD-AUTH-004"),
    "invalid_scope": (AuthError, "XD-AUTH-001"),
}


def _is_revision_limit(error_id: int | None, message: str) -> bool:
    text = message.lower()
    return error_id in REVISION_LIMIT_REST and "revis" in text and ("times" in text or "limit" in text)


def rest_code(error: Mapping[str, Any], *, status: int | None = None,
              operation: str | None = None) -> tuple[ErrorClass, str]:
    """The crossdock class and code of one REST ``errors[]`` entry."""
    try:
        error_id: int | None = int(error["errorId"])
    except (KeyError, TypeError, ValueError):
        error_id = None
    message = str(error.get("longMessage") or error.get("message") or "")
    if _is_revision_limit(error_id, message):
        return QuotaError, "XD-QUOTA-004"
    if operation == "createShippingFulfillment":
        if status == 409:
            return OrderError, "XD-ORD-006"
        if error_id in (32100,):
            return REST_ERRORS[32100]
        if error_id is not None and 32000 <= error_id < 35000:
            return PlatformError, "XD-PLATFORM-007"
    if error_id in REST_ERRORS:
        return REST_ERRORS[error_id]
    if error_id is not None and 25002 <= error_id <= 25123 and operation in (
            "publishOffer", "createOrReplaceInventoryItem", "createOffer", "updateOffer"):
        return LISTING_REJECTED
    if status == 429:
        return QuotaError, "XD-QUOTA-001"
    return PlatformError, "XD-PLATFORM-001"


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{e.get('errorId')} {e.get('longMessage') or e.get('message') or ''}".strip()
                     for e in errors)[:500]


def rest_platform_error(resp: httpx.Response, ctx: CallContext) -> CrossdockError | None:
    """``platform_error`` hook for :func:`crossdock.connectors.http.send`."""
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not errors or not isinstance(errors, list):
        return None
    cls, code = rest_code(errors[0], status=resp.status_code, operation=ctx.operation)
    wait = retry_after_s(resp.headers) if resp.status_code == 429 else None
    return cls(code, channel=ctx.channel, entity=ctx.entity, retry_after_s=wait,
               detail=f"{ctx.operation}: HTTP {resp.status_code}: {describe(errors)}",
               operation=ctx.operation, status=resp.status_code, error_id=errors[0].get("errorId"))


def token_error(resp: httpx.Response, ctx: CallContext) -> CrossdockError | None:
    """``platform_error`` hook for the OAuth token endpoint."""
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(body, Mapping):
        return None
    if "error" not in body:
        return rest_platform_error(resp, ctx)
    cls, code = OAUTH_ERRORS.get(str(body["error"]), (AuthError, "XD-AUTH-001"))
    return cls(code, channel=ctx.channel, operation=ctx.operation, status=resp.status_code,
               detail=f"token endpoint: {body.get('error')}: {body.get('error_description', '')}"[:300])


def bulk_error(errors: Sequence[Mapping[str, Any]], *, status: int | None) -> tuple[str, str]:
    """(code, message) for one failed entry of ``bulk_update_price_quantity``."""
    if not errors:
        return "XD-PLATFORM-001", f"eBay statusCode {status}"
    _, code = rest_code(errors[0], status=status, operation="bulkUpdatePriceQuantity")
    message = describe(errors)
    if code == "XD-PLATFORM-002" and errors[0].get("errorId") == 25702:
        message += (" — not an Inventory API listing; if it is a legacy listing, add it to the listing map "
                    "as trading:<ItemID>")
    return code, message


def trading_code(code: int | None) -> tuple[ErrorClass, str]:
    if code in REVISION_LIMIT_TRADING:
        return QuotaError, "XD-QUOTA-004"
    return TRADING_ERRORS.get(code, (PlatformError, "XD-PLATFORM-001")) if code is not None else (
        PlatformError, "XD-PLATFORM-001")


def trading_item_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """(code, message) for an item-level Trading error (one with ErrorParameters)."""
    try:
        num: int | None = int(error["ErrorCode"])
    except (KeyError, TypeError, ValueError):
        num = None
    _, code = trading_code(num)
    return code, f"{num} {error.get('LongMessage') or error.get('ShortMessage') or ''}".strip()[:300]


def trading_call_error(codes: Sequence[int], errors: Sequence[Mapping[str, Any]], ctx: CallContext) -> CrossdockError:
    """The error of a failed Trading call (``Ack=Failure`` without item-level parameters)."""
    first = codes[0] if codes else None
    cls, code = trading_code(first)
    text = "; ".join(f"{e.get('ErrorCode')} {e.get('LongMessage') or e.get('ShortMessage') or ''}".strip()
                     for e in errors)[:500] or f"codes {list(codes)}"
    return cls(code, channel=ctx.channel, entity=ctx.entity, detail=f"{ctx.operation}: {text}",
               operation=ctx.operation, error_codes=list(codes))
