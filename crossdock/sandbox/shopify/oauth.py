"""Credentials of the simulated Shopify: client secrets, expiring offline
access tokens and rotating refresh tokens (with the grace Shopify gives the
previous refresh token since August 2026), the ``access_token`` endpoint and
the credential scenarios the admin API plays (revoke, expire, reinstall)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
