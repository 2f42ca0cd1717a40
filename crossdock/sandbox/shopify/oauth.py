"""Credentials of the simulated Shopify: client secrets, expiring offline
access tokens and rotating refresh tokens (with the grace Shopify gives the
previous refresh token since August 2026), the ``access_token`` endpoint, the
install consent page (``GET /admin/oauth/authorize``: approves a sandbox app
at once and redirects with ``code``, ``hmac``, ``host``, ``shop``, ``state`` and
``timestamp``; ``sandbox_decision=deny`` declines with ``error=access_denied``)
and its code exchange (once per code: an expiring offline token and its
refresh token), and the credential scenarios the admin API plays (revoke,
expire, reinstall)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crossdock.sandbox import consent
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.shopify.sim import ShopifySim

SCOPES = "read_orders,write_orders,read_products,write_products,read_inventory,write_inventory," \
         "read_fulfillments,write_fulfillments,read_merchant_managed_fulfillment_orders," \
         "write_merchant_managed_fulfillment_orders,read_locations"


@dataclass
class AccessRec:
    shop: str
    expires_at: float
    minted_by: str | None = None      # the refresh token exchanged for it
    revoked: bool = False


@dataclass
class RefreshRec:
    shop: str
    expires_at: float
    status: str = "active"            # active | grace | retired | revoked
    predecessor: str | None = None
    successor: str | None = None


@dataclass
class Creds:
    client_id: str
    client_secret: str
    access_token: str = ""
    refresh_token: str = ""


def issue_tokens(sim: ShopifySim, shop: str, now: float, *, predecessor: str | None = None) -> tuple[str, str]:
    """A new access and refresh token for ``shop`` (``predecessor``: the refresh token exchanged)."""
    access, refresh = "shpat_" + sim.random_hex(16), "shprt_" + sim.random_hex(16)
    sim.access_tokens[access] = AccessRec(shop, now + sim.access_token_ttl_s, minted_by=predecessor)
    sim.refresh_tokens[refresh] = RefreshRec(shop, now + sim.refresh_token_ttl_s, predecessor=predecessor)
    c = sim.creds[shop]
    c.access_token, c.refresh_token = access, refresh
    return access, refresh


def _retire(sim: ShopifySim, refresh_token: str | None) -> None:
    rec = sim.refresh_tokens.get(refresh_token or "")
    if rec is not None and rec.status == "grace":
        rec.status = "retired"


def authenticate(sim: ShopifySim, req: Request, hint: str | None) -> str | None:
    """The shop whose live access token the request carries (None: none, or another shop's)."""
    token = req.headers.get("X-Shopify-Access-Token") or ""
    rec = sim.access_tokens.get(token)
    if rec is None or rec.revoked or rec.expires_at <= sim.clock.timestamp():
        return None
    if hint is not None and rec.shop != hint:
        return None
    if rec.minted_by:
        _retire(sim, rec.minted_by)     # the app started using the replacement
        rec.minted_by = None
    return rec.shop


CODE_NOT_FOUND = "The authorization code was not found or was already used"


def signed(params: dict[str, str], secret: str) -> dict[str, str]:
    """``params`` with Shopify's ``hmac``: hex HMAC-SHA256 over the others as sorted ``k=v`` pairs joined
    by ``&`` (``%``/``=`` in keys, ``%`` in values and ``&`` escaped, as Shopify and ShopifyAPI do)."""
    pairs = sorted(f"{str(k).replace('%', '%25').replace('=', '%3D')}={str(v).replace('%', '%25')}"
                   .replace("&", "%26") for k, v in params.items() if k != "hmac")
    return {**params, "hmac": hmac.new(secret.encode(), "&".join(pairs).encode(), hashlib.sha256).hexdigest()}


def consent_page(sim: ShopifySim, req: Request) -> Response:
    """The app install page of the shop the request names (path prefix or Host)."""
    shop = sim.shop_hint(req)
    if shop is None or shop not in sim.shops:
        return consent.page(404, "There is no store at this address.")
    creds = sim.creds[shop]
    target = req.arg("redirect_uri") or ""
    if req.arg("client_id") != creds.client_id:
        return consent.page(400, "Oauth error invalid_request: The client_id is invalid.")
    if not target.startswith(("http://", "https://")):
        return consent.page(400, "Oauth error invalid_request: The redirect_uri is missing or not a URL.")
    state = req.arg("state") or ""
    if consent.declined(req):
        return consent.redirect(target, {"error": "access_denied", "error_description":
                                         "The merchant declined to install the app.", "state": state})
    domain = f"{shop}.myshopify.com"
    code = sim.auth_codes.issue(shop, client_id=creds.client_id, redirect_uri=target)
    params = {"code": code, "host": base64.b64encode(f"{domain}/admin".encode()).decode().rstrip("="),
              "shop": domain, "state": state, "timestamp": str(int(sim.clock.timestamp()))}
    return consent.redirect(target, signed(params, creds.client_secret))


def _exchange(sim: ShopifySim, hint: str | None, params: dict[str, Any]) -> Response:
    """``POST /admin/oauth/access_token`` with ``client_id``, ``client_secret`` and ``code``
    (``expiring=1``; the sandbox only has expiring offline tokens)."""
    with sim.lock:
        creds = sim.creds.get(hint or "")
        if creds is None or params.get("client_id") != creds.client_id \
                or params.get("client_secret") != creds.client_secret:
            return json_response({"error": "invalid_client", "error_description":
                                  "Client authentication failed due to unknown client, no client "
                                  "authentication included, or unsupported authentication method."}, 401)
        shop = sim.auth_codes.redeem(str(params.get("code")), client_id=creds.client_id, redirect_uri=None)
        if shop != hint or shop is None:
            return json_response({"error": "invalid_request", "error_description": CODE_NOT_FOUND}, 400)
        access, refresh = issue_tokens(sim, shop, sim.clock.timestamp())
    return json_response({"access_token": access, "scope": SCOPES, "expires_in": int(sim.access_token_ttl_s),
                          "refresh_token": refresh, "refresh_token_expires_in": int(sim.refresh_token_ttl_s)})


def token_endpoint(sim: ShopifySim, req: Request) -> Response:
    """``POST /admin/oauth/access_token`` with ``grant_type=refresh_token``: a new pair, the refresh
    token rotated."""
    hint = sim.shop_hint(req)
    early = sim.unknown_shop(hint)
    if early is not None:
        return early
    ctype = (req.headers.get("Content-Type") or "").lower()
    try:
        params = (req.json() or {}) if "json" in ctype else req.form()
    except (ValueError, UnicodeDecodeError):
        params = {}
    if not isinstance(params, dict):
        params = {}
    grant = params.get("grant_type")
    if params.get("code") and not grant:
        return _exchange(sim, hint, params)
    client_id, secret, rt = params.get("client_id"), params.get("client_secret"), params.get("refresh_token")
    if grant != "refresh_token" or not rt:
        return json_response({"error": "invalid_request",
                              "error_description": "grant_type=refresh_token and refresh_token are required."},
                             400)
    with sim.lock:
        now = sim.clock.timestamp()
        rec = sim.refresh_tokens.get(rt)
        shop = hint or (rec.shop if rec else None)
        creds = sim.creds.get(shop or "")
        if creds is None or client_id != creds.client_id or secret != creds.client_secret:
            return json_response({"error": "invalid_client", "error_description":
                                  "Client authentication failed due to unknown client, no client "
                                  "authentication included, or unsupported authentication method."}, 401)
        if rec is None or rec.shop != shop or rec.status in ("retired", "revoked") or rec.expires_at <= now:
            return json_response({"error": "invalid_grant",
                                  "error_description": "Token has been expired or revoked."}, 400)
        _retire(sim, rec.predecessor)          # the app started using this replacement
        if rec.successor:                       # a previous answer was lost: drop that pair
            succ = sim.refresh_tokens.get(rec.successor)
            if succ is not None and succ.status == "active":
                succ.status = "revoked"
            for a in sim.access_tokens.values():
                if a.minted_by == rt:
                    a.revoked = True
        access, refresh = issue_tokens(sim, rec.shop, now, predecessor=rt)
        rec.status = "grace" if sim.refresh_grace else "retired"
        rec.successor = refresh
        sim.refreshes += 1
    return json_response({"access_token": access, "scope": SCOPES, "expires_in": int(sim.access_token_ttl_s),
                          "refresh_token": refresh, "refresh_token_expires_in": int(sim.refresh_token_ttl_s)})


def auth_scenario(sim: ShopifySim, action: str, account: str | None) -> dict[str, Any]:
    targets = [account] if account else list(sim.shops)
    for t in targets:
        if t not in sim.shops:
            raise ValueError(f"unknown Shopify shop {t!r}; shops: {sorted(sim.shops)}")
    out: dict[str, Any] = {}
    with sim.lock:
        now = sim.clock.timestamp()
        for shop in targets:
            if action == "revoke_refresh_token":
                for r in sim.refresh_tokens.values():
                    if r.shop == shop:
                        r.status = "revoked"
            elif action == "expire_access_tokens":
                for a in sim.access_tokens.values():
                    if a.shop == shop:
                        a.expires_at = min(a.expires_at, now - 1)
            elif action == "expire_authorisation":      # the merchant uninstalled the app
                for a in sim.access_tokens.values():
                    if a.shop == shop:
                        a.revoked = True
                for r in sim.refresh_tokens.values():
                    if r.shop == shop:
                        r.status = "revoked"
            elif action == "revoke_client_secret":      # also revokes the tokens issued with it
                sim.creds[shop].client_secret = "shpss_" + sim.random_hex(16)
                for a in sim.access_tokens.values():
                    if a.shop == shop:
                        a.revoked = True
                out.setdefault("client_secrets", {})[shop] = sim.creds[shop].client_secret
            elif action == "reauthorise":               # the merchant installs the app again
                access, refresh = issue_tokens(sim, shop, now)
                out.setdefault("tokens", {})[shop] = {"access_token": access, "refresh_token": refresh,
                                                      "client_secret": sim.creds[shop].client_secret}
            else:
                raise ValueError(f"unknown auth action {action!r}; one of revoke_refresh_token, "
                                 "expire_access_tokens, expire_authorisation, revoke_client_secret, reauthorise")
    return out
