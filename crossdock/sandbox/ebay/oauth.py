"""The simulated eBay's OAuth token endpoint: client credentials (application
tokens) and refresh-token grants (user tokens), with eBay's error answers."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

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


def register(sim: EbaySim) -> None:
    clock = sim.clock

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
        if grant != "refresh_token":
            return render.oauth_error(400, "unsupported_grant_type",
                                      "grant type in request is not supported by the authorization server")
        refresh = form.get("refresh_token")
        if not refresh:
            return render.oauth_error(400, "invalid_request", "request is missing a required parameter or "
                                                              "malformed.")
        if refresh != acct.refresh_token or acct.refresh_revoked or acct.refresh_expires_at <= now:
            return render.oauth_error(400, "invalid_grant", "the provided authorization refresh token is "
                                                            "invalid or was issued to another client")
        tok = sim.issue_access_token(acct)
        return json_response({"access_token": tok.token, "expires_in": sim.config.access_token_ttl_s,
                              "token_type": "User Access Token"})
