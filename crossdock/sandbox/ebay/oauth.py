"""The simulated eBay's OAuth: the consent page (``GET /oauth2/authorize``, which
approves a sandbox app at once and redirects with ``code``, ``state`` and
``expires_in``; ``sandbox_decision=deny`` declines with ``error=access_denied``)
and the token endpoint: client credentials (application tokens), authorisation
codes (a user token and a new 18-month refresh token, once per code) and
refresh-token grants (user tokens), with eBay's error answers. The sandbox has
no RuName registry: ``redirect_uri`` is the URL to send the browser to."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING, Any

from crossdock.sandbox import consent
from crossdock.sandbox.ebay import render
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim

SCOPE_PREFIX = "https://api.ebay.com/oauth/api_scope"


def _basic_client(req: Request) -> tuple[str, str] | None:
    header = req.headers.get("Authorization") or ""
    if not header.startswith("Basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (cid, secret) if sep else None


INVALID_CODE = "the provided authorization grant code is invalid or was issued to another client"


def _consent(sim: EbaySim, req: Request) -> Response:
    client_id, target = req.arg("client_id") or "", req.arg("redirect_uri") or ""
    try:
        acct = sim.account(client_id) if client_id else None
    except ValueError:
        acct = None
    if acct is None or acct.client_id != client_id:
        return consent.page(400, "unauthorized_client: the client id is not known")
    if req.arg("response_type") != "code":
        return consent.page(400, "unsupported_response_type: response_type must be code")
    if not target.startswith(("http://", "https://")):
        return consent.page(400, "invalid_request: redirect_uri (in the sandbox: the URL itself) is required")
    state = req.arg("state") or ""
    if consent.declined(req):
        return consent.redirect(target, {"state": state, "error": "access_denied",
                                         "error_description": "The user denied the request"})
    code = sim.auth_codes.issue(acct.username, client_id=acct.client_id, redirect_uri=target)
    return consent.redirect(target, {"state": state, "code": code, "expires_in": str(int(sim.auth_codes.ttl_s))})


def _exchange(sim: EbaySim, acct: Any, form: dict[str, str]) -> Response:
    if not form.get("code") or not form.get("redirect_uri"):
        return render.oauth_error(400, "invalid_request", "request is missing a required parameter or malformed.")
    if sim.auth_codes.redeem(form["code"], client_id=acct.client_id,
                             redirect_uri=form["redirect_uri"]) != acct.username:
        return render.oauth_error(400, "invalid_grant", INVALID_CODE)
    now = sim.clock.timestamp()
    refresh = "v^1.1#i^1#r^1#f^0#p^3#I^3#t^" + secrets.token_urlsafe(72)
    with sim.lock:
        sim.granted_refresh[refresh] = acct.username
        acct.refresh_revoked = False
        acct.refresh_expires_at = max(acct.refresh_expires_at, now + sim.config.refresh_token_ttl_s)
    tok = sim.issue_access_token(acct)
    return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                          "refresh_token": refresh, "refresh_token_expires_in": sim.config.refresh_token_ttl_s,
                          "token_type": "User Access Token"})


def register(sim: EbaySim) -> None:
    clock = sim.clock
    sim.op("GET", "/oauth2/authorize", "consent", account=lambda req: "")(lambda req: _consent(sim, req))

    def token_account(req: Request) -> str:
        pair = _basic_client(req)
        if pair is None:
            return ""
        try:
            return sim.account(pair[0]).username
        except ValueError:
            return ""

    @sim.op("POST", "/identity/v1/oauth2/token", "token", account=token_account)
    def token(req: Request) -> Response:
        pair = _basic_client(req)
        acct = None
        if pair is not None:
            try:
                acct = sim.account(pair[0])
            except ValueError:
                acct = None
        if pair is None or acct is None or acct.client_secret != pair[1] or acct.secret_revoked:
            return render.oauth_error(401, "invalid_client", "client authentication failed")
        form = req.form()
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if scope and any(not s.startswith(SCOPE_PREFIX) for s in scope.split()):
            return render.oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, malformed, "
                                                            "or exceeds the scope granted to the client")
        now = clock.timestamp()
        if not sim.quota.take(acct.username, "identity", sim.api_limit("identity"), now):
            return render.too_many_requests()
        if grant == "client_credentials":
            tok = sim.issue_access_token(acct, app=True)
            return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                                  "token_type": "Application Access Token"})
        if grant == "authorization_code":
            return _exchange(sim, acct, form)
        if grant != "refresh_token":
            return render.oauth_error(400, "unsupported_grant_type",
                                      "grant type in request is not supported by the authorization server")
        refresh = form.get("refresh_token")
        if not refresh:
            return render.oauth_error(400, "invalid_request", "request is missing a required parameter or "
                                                              "malformed.")
        known = refresh == acct.refresh_token or sim.granted_refresh.get(refresh) == acct.username
        if not known or acct.refresh_revoked or acct.refresh_expires_at <= now:
            return render.oauth_error(400, "invalid_grant", "the provided authorization refresh token is "
                                                            "invalid or was issued to another client")
        tok = sim.issue_access_token(acct)
        return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                              "token_type": "User Access Token"})
