"""Login with Amazon (the token endpoint), the access-token check every SP-API
call goes through, and the Tokens API (Restricted Data Tokens).

Answers follow LWA and SP-API: a bad client is 401 ``invalid_client``, a bad
or revoked refresh token 400 ``invalid_grant``; an expired access token is 403
``Unauthorized`` with "The access token you provided has expired."; a revoked
one (seller authorisation withdrawn or lapsed) is 403 with "The access token
you provided is revoked, malformed or invalid."; a restricted operation called
without a Restricted Data Token is 403 ``Unauthorized`` with empty details.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import TYPE_CHECKING

from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.state import Seller, Token
from crossdock.sandbox.amazon.wire import sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

_ORDER_ID = re.compile(r"^[0-9A-Za-z-]+$")


def lwa_error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error_description": description, "error": error}).encode()
    return Response(status, body, {"Content-Type": "application/json;charset=UTF-8",
                                   "x-amzn-RequestId": str(uuid.uuid4())})


def denied(details: str = "") -> Response:
    return sp_error(403, "Unauthorized", C.DENIED, details)


class AuthResult:
    __slots__ = ("seller", "pii", "token")

    def __init__(self, seller: Seller, pii: frozenset[str], token: Token) -> None:
        self.seller = seller
        self.pii = pii
        self.token = token


def _valid_token(sim: "AmazonSim", value: str | None) -> Token | None:
    if not value:
        return None
    tok = sim.tokens.get(value)
    if tok is None or tok.revoked:
        return None
    seller = sim.sellers[tok.seller_id]
    now = sim.now()
    if seller.authorisation_expired_at is not None and seller.authorisation_expired_at <= now:
        return None
    if now >= tok.expires_at:
        return None
    return tok


def account_of(sim: "AmazonSim", req: Request) -> str:
    """The seller a request is charged to (for quotas and stats); "" when the
    token is missing, unknown, revoked or expired (the handler answers 403)."""
    tok = _valid_token(sim, req.headers.get("x-amz-access-token"))
    return tok.seller_id if tok else ""


def _resource_matches(pattern: str, path: str) -> bool:
    if "{orderId}" not in pattern:
        return pattern == path
    prefix, _, suffix = pattern.partition("{orderId}")
    if not (path.startswith(prefix) and path.endswith(suffix)):
        return False
    middle = path[len(prefix):len(path) - len(suffix)] if suffix else path[len(prefix):]
    return bool(middle) and "/" not in middle and bool(_ORDER_ID.match(middle))


def _pattern_for(path: str) -> tuple[str, str] | None:
    """The restricted operation a concrete or generic path names."""
    for (method, pattern), op in C.RESTRICTED.items():
        if pattern == path or _resource_matches(pattern, path):
            return method, pattern
    return None


def authenticate(sim: "AmazonSim", req: Request, *, restricted_only: bool = False,
                 grantless: str | None = None) -> AuthResult | Response:
    """Check ``x-amz-access-token``. ``restricted_only``: the operation needs a
    Restricted Data Token (getOrderAddress). An RDT is accepted only for the
    resources it was issued for; it adds the PII its dataElements name.
    ``grantless``: the operation takes only an application's grantless token
    of that scope (Notifications API destinations); a grantless token is
    refused everywhere else."""
    value = req.headers.get("x-amz-access-token")
    if not value:
        return denied()
    tok = sim.tokens.get(value)
    if tok is None or tok.revoked:
        return denied(C.DETAIL_REVOKED)
    seller = sim.sellers[tok.seller_id]
    now = sim.now()
    if seller.authorisation_expired_at is not None and seller.authorisation_expired_at <= now:
        return denied(C.DETAIL_REVOKED)
    if now >= tok.expires_at:
        return denied(C.DETAIL_EXPIRED)
    if (tok.kind == "grantless") != (grantless is not None) or (grantless and grantless not in tok.scopes):
        return denied()
    if tok.kind == "rdt":
        pii: set[str] = set()
        matched = False
        for method, pattern, elements in tok.resources:
            if method == req.method and _resource_matches(pattern, req.path):
                matched = True
                pii |= elements
                if pattern.endswith("/address"):
                    pii.add("shippingAddress")
        if not matched:
            return denied()
        return AuthResult(seller, frozenset(pii), tok)
    if restricted_only:
        return denied()
    return AuthResult(seller, frozenset(), tok)


# ------------------------------------------------------------------ LWA


def token_endpoint(sim: "AmazonSim", req: Request) -> Response:
    ctype = (req.headers.get("content-type") or "").lower()
    try:
        if "json" in ctype:
            form = {k: str(v) for k, v in (req.json() or {}).items()}
        else:
            form = req.form()
    except (ValueError, UnicodeDecodeError, AttributeError):
        return lwa_error(400, "invalid_request", "The request is malformed")
    grant = form.get("grant_type")
    if not grant:
        return lwa_error(400, "invalid_request", C.LWA_MISSING_PARAM.format(name="grant_type"))
    if grant == "client_credentials":
        return _grantless_token(sim, form)
    if grant == "authorization_code":
        from crossdock.sandbox.amazon.consent import exchange

        return exchange(sim, form)
    if grant != "refresh_token":
        return lwa_error(400, "unsupported_grant_type", C.LWA_UNSUPPORTED_GRANT)
    with sim.lock:
        seller = next((s for s in sim.sellers.values() if s.client_id == form.get("client_id")), None)
        if seller is None or seller.secret_revoked or form.get("client_secret") != seller.client_secret:
            return lwa_error(401, "invalid_client", C.LWA_INVALID_CLIENT)
        refresh = form.get("refresh_token")
        if not refresh:
            return lwa_error(400, "invalid_request", C.LWA_MISSING_PARAM.format(name="refresh_token"))
        now = sim.now()
        lapsed = seller.authorisation_expired_at is not None and seller.authorisation_expired_at <= now
        known = refresh == seller.refresh_token or sim.granted_refresh.get(refresh) == seller.seller_id
        if not known or seller.refresh_revoked or lapsed:
            return lwa_error(400, "invalid_grant", C.LWA_INVALID_GRANT)
        value = "Atza|" + secrets.token_urlsafe(48)
        sim.tokens[value] = Token(value=value, seller_id=seller.seller_id, expires_at=now + C.ACCESS_TOKEN_TTL_S)
        sim.counters["access_tokens_issued"] += 1
    body = {"access_token": value, "refresh_token": refresh, "token_type": "bearer",
            "expires_in": C.ACCESS_TOKEN_TTL_S}
    return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json;charset=UTF-8",
                                                     "x-amzn-RequestId": str(uuid.uuid4())})


def _grantless_token(sim: "AmazonSim", form: dict[str, str]) -> Response:
    """LWA's client_credentials grant: an application token for grantless
    operations, with the scopes asked for (``sellingpartnerapi::notifications``,
    ``sellingpartnerapi::client_credential:rotation``)."""
    scopes = tuple((form.get("scope") or "").split())
    with sim.lock:
        seller = next((s for s in sim.sellers.values() if s.client_id == form.get("client_id")), None)
        if seller is None or seller.secret_revoked or form.get("client_secret") != seller.client_secret:
            return lwa_error(401, "invalid_client", C.LWA_INVALID_CLIENT)
        if not scopes:
            return lwa_error(400, "invalid_request", C.LWA_MISSING_PARAM.format(name="scope"))
        if not set(scopes) <= C.GRANTLESS_SCOPES:
            return lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
        value = "Atc|" + secrets.token_urlsafe(48)
        sim.tokens[value] = Token(value=value, seller_id=seller.seller_id, expires_at=sim.now() + C.ACCESS_TOKEN_TTL_S,
                                  kind="grantless", scopes=frozenset(scopes))
        sim.counters["grantless_tokens_issued"] += 1
    body = {"access_token": value, "scope": " ".join(scopes), "token_type": "bearer",
            "expires_in": C.ACCESS_TOKEN_TTL_S}
    return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json;charset=UTF-8",
                                                     "x-amzn-RequestId": str(uuid.uuid4())})


# ------------------------------------------------------------------ Tokens API


def create_rdt(sim: "AmazonSim", req: Request) -> Response:
    rate = C.USAGE_PLANS["createRestrictedDataToken"][0]
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return sp_error(400, "InvalidInput", C.INVALID_INPUT, "Request body is not valid JSON.", rate=rate)
    resources = body.get("restrictedResources") if isinstance(body, dict) else None
    if not isinstance(resources, list) or not resources or len(resources) > 50:
        return sp_error(400, "InvalidInput", C.INVALID_INPUT,
                        "restrictedResources must list 1 to 50 resources.", rate=rate)
    granted = []
    for res in resources:
        if not isinstance(res, dict):
            return sp_error(400, "InvalidInput", C.INVALID_INPUT, "Invalid restricted resource.", rate=rate)
        method, path = res.get("method"), res.get("path")
        elements = res.get("dataElements") or []
        if method not in ("GET", "PUT", "POST", "DELETE") or not isinstance(path, str):
            return sp_error(400, "InvalidInput", C.INVALID_INPUT, "Invalid restricted resource.", rate=rate)
        found = _pattern_for(path)
        if found is None or found[0] != method:
            return sp_error(400, "InvalidInput", C.INVALID_INPUT,
                            f"{method} {path} is not a restricted resource.", rate=rate)
        if not isinstance(elements, list) or not set(elements) <= C.DATA_ELEMENTS:
            return sp_error(400, "InvalidInput", C.INVALID_INPUT,
                            f"Invalid dataElements {elements!r}.", rate=rate)
        if found[1] != C.RESTRICTED_ADDRESS and found[1] != "/orders/v0/orders/{orderId}/buyerInfo" \
                and not elements:
            return sp_error(400, "InvalidInput", C.INVALID_INPUT,
                            f"dataElements are required for {path}.", rate=rate)
        granted.append((method, path, frozenset(elements)))
    value = "Atz.sprdt|" + secrets.token_urlsafe(48)
    with sim.lock:
        sim.tokens[value] = Token(value=value, seller_id=auth.seller.seller_id,
                                  expires_at=sim.now() + C.RDT_TTL_S, kind="rdt", resources=tuple(granted))
        sim.counters["rdts_issued"] += 1
    return sp_json({"restrictedDataToken": value, "expiresIn": C.RDT_TTL_S}, rate=rate)


def register(sim: "AmazonSim") -> None:
    sim.op("POST", "/auth/o2/token", "lwaToken", account=lambda req: "")(
        lambda req: token_endpoint(sim, req))
    rate, burst = C.USAGE_PLANS["createRestrictedDataToken"]
    sim.op("POST", "/tokens/2021-03-01/restrictedDataToken", "createRestrictedDataToken",
           account=sim.account_of, rate=rate, burst=burst)(lambda req: create_rdt(sim, req))
