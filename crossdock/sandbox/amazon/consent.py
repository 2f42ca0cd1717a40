"""The SP-API website authorisation workflow, simulated: Seller Central's
consent page and Login with Amazon's ``authorization_code`` grant.

``GET /apps/authorize/consent?application_id=…&state=…&redirect_uri=…[&version=beta]``
approves for the seller whose app it is (its LWA client id is its
application id here) and redirects to ``redirect_uri`` with
``spapi_oauth_code``, ``state`` and ``selling_partner_id``
(``sandbox_decision=deny``: ``error=access_denied``). The code, exchanged
once at ``POST /auth/o2/token``, gives a new refresh token for that seller
(the seller's earlier ones keep working, as on Amazon) and an access token;
the seller's authorisation starts again (a lapsed or revoked one is renewed).
A used, unknown or expired code is LWA's 400 ``invalid_grant``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import TYPE_CHECKING

from crossdock.sandbox import consent
from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.state import Token
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

INVALID_CODE = "The request has an invalid grant parameter : code"


def consent_page(sim: "AmazonSim", req: Request) -> Response:
    app_id, target = req.arg("application_id") or "", req.arg("redirect_uri") or ""
    with sim.lock:
        seller = next((s for s in sim.sellers.values() if s.client_id == app_id), None)
    if seller is None:
        return consent.page(400, f"Application {app_id!r} was not found.")
    if not target.startswith(("http://", "https://")):
        return consent.page(400, "The redirect_uri is missing or not a URL.")
    state = req.arg("state") or ""
    if consent.declined(req):
        return consent.redirect(target, {"error": "access_denied", "error_description":
                                         "The seller did not authorize the application.", "state": state})
    code = sim.auth_codes.issue(seller.seller_id, client_id=seller.client_id, redirect_uri=target)
    return consent.redirect(target, {"state": state, "selling_partner_id": seller.seller_id,
                                     "spapi_oauth_code": code})


def exchange(sim: "AmazonSim", form: dict[str, str]) -> Response:
    """``grant_type=authorization_code`` (the caller checked nothing yet)."""
    from crossdock.sandbox.amazon.auth import lwa_error

    with sim.lock:
        seller = next((s for s in sim.sellers.values() if s.client_id == form.get("client_id")), None)
        if seller is None or seller.secret_revoked or form.get("client_secret") != seller.client_secret:
            return lwa_error(401, "invalid_client", C.LWA_INVALID_CLIENT)
        if not form.get("code"):
            return lwa_error(400, "invalid_request", C.LWA_MISSING_PARAM.format(name="code"))
        owner = sim.auth_codes.redeem(form.get("code"), client_id=seller.client_id,
                                      redirect_uri=form.get("redirect_uri"))
        if owner != seller.seller_id:
            return lwa_error(400, "invalid_grant", INVALID_CODE)
        now = sim.now()
        refresh = "Atzr|" + secrets.token_urlsafe(72)
        sim.granted_refresh[refresh] = seller.seller_id
        seller.refresh_revoked = False
        if seller.authorisation_expired_at is not None:
            seller.authorisation_expired_at = None
        value = "Atza|" + secrets.token_urlsafe(48)
        sim.tokens[value] = Token(value=value, seller_id=seller.seller_id, expires_at=now + C.ACCESS_TOKEN_TTL_S)
        sim.counters["access_tokens_issued"] += 1
        sim.counters["authorisations"] += 1
    body = {"access_token": value, "refresh_token": refresh, "token_type": "bearer",
            "expires_in": C.ACCESS_TOKEN_TTL_S}
    return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json;charset=UTF-8",
                                                     "x-amzn-RequestId": str(uuid.uuid4())})


def register(sim: "AmazonSim") -> None:
    sim.op("GET", "/apps/authorize/consent", "consent", account=lambda req: "")(
        lambda req: consent_page(sim, req))
