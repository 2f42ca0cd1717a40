"""Expiring offline tokens and rotating refresh tokens in the Shopify sandbox."""

from __future__ import annotations

INVALID = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def refresh(box, refresh_token, *, secret=None, prefixed=True, as_json=False):
    url = f"{box.base}{'/shops/crossdock-eu' if prefixed else ''}/admin/oauth/access_token"
    params = {"client_id": box.shop["client_id"], "client_secret": secret or box.shop["client_secret"],
              "grant_type": "refresh_token", "refresh_token": refresh_token}
    return box.http.post(url, json=params) if as_json else box.http.post(url, data=params)


def test_refresh_rotates_the_refresh_token(box):
    r = refresh(box, box.shop["refresh_token"])
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "refresh_token_expires_in", "scope"}
    assert body["expires_in"] == 3600 and body["refresh_token_expires_in"] == 90 * 86400
    assert body["refresh_token"] != box.shop["refresh_token"] and body["access_token"].startswith("shpat_")
    assert box.data("{ shop { name } }", token=body["access_token"])["shop"]["name"] == "crossdock-eu"
    # once the replacement is in use, the old refresh token is dead
    r = refresh(box, box.shop["refresh_token"])
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    # the new one works, as JSON too, and rotates again
    r2 = refresh(box, body["refresh_token"], as_json=True)
    assert r2.status_code == 200 and r2.json()["refresh_token"] != body["refresh_token"]


def test_a_lost_refresh_answer_can_be_recovered_until_the_replacement_is_used(box):
    first = refresh(box, box.shop["refresh_token"]).json()       # "lost": never used
    second = refresh(box, box.shop["refresh_token"])             # same old token again: still accepted
    assert second.status_code == 200
    # the lost pair was superseded
    assert box.gql("{ shop { name } }", token=first["access_token"]).status_code == 401
    assert refresh(box, first["refresh_token"]).status_code == 400


def test_strict_one_time_refresh_tokens(box):
    box.sim.configure(refresh_grace=False)
    assert refresh(box, box.shop["refresh_token"]).status_code == 200
    assert refresh(box, box.shop["refresh_token"]).status_code == 400


def test_access_token_expires_in_sandbox_time(box):
    box.sim.configure(access_token_ttl_s=60.0)
    token = refresh(box, box.shop["refresh_token"]).json()["access_token"]
    assert box.gql("{ shop { name } }", token=token).status_code == 200
    box.wait_sandbox_s(61)
    r = box.gql("{ shop { name } }", token=token)
    assert r.status_code == 401 and r.json() == INVALID


def test_auth_scenarios(box):
    admin = box.sb.admin_url
    token = box.shop["access_token"]
    r = box.http.post(f"{admin}/auth/shopify/expire_access_tokens", json={"account": "crossdock-eu"})
    assert r.status_code == 200
    assert box.gql("{ shop { name } }", token=token).status_code == 401
    fresh = refresh(box, box.shop["refresh_token"]).json()
    assert box.gql("{ shop { name } }", token=fresh["access_token"]).status_code == 200
    # revoked refresh tokens
    box.http.post(f"{admin}/auth/shopify/revoke_refresh_token", json={})
    assert refresh(box, fresh["refresh_token"]).json()["error"] == "invalid_grant"
    # a rotated client secret also revokes the tokens issued with it
    r = box.http.post(f"{admin}/auth/shopify/reauthorise", json={"account": "crossdock-eu"})
    tokens = r.json()["tokens"]["crossdock-eu"]
    r = box.http.post(f"{admin}/auth/shopify/revoke_client_secret", json={"account": "crossdock-eu"})
    new_secret = r.json()["client_secrets"]["crossdock-eu"]
    assert box.gql("{ shop { name } }", token=tokens["access_token"]).status_code == 401
    bad = refresh(box, tokens["refresh_token"])
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert refresh(box, tokens["refresh_token"], secret=new_secret).status_code == 200
    # the merchant uninstalls the app
    box.http.post(f"{admin}/auth/shopify/expire_authorisation", json={"account": "crossdock-eu"})
    assert refresh(box, box.sim.creds["crossdock-eu"].refresh_token, secret=new_secret).status_code == 400
    r = box.http.post(f"{admin}/auth/shopify/nonsense", json={})
    assert r.status_code == 400
    r = box.http.post(f"{admin}/auth/shopify/expire_access_tokens", json={"account": "nope"})
    assert r.status_code == 400


def test_token_endpoint_needs_the_right_grant(box):
    r = box.http.post(f"{box.base}/shops/crossdock-eu/admin/oauth/access_token",
                      data={"client_id": box.shop["client_id"], "client_secret": box.shop["client_secret"],
                            "grant_type": "authorization_code", "code": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    # a token for this shop is refused on the token endpoint of another shop
    r = box.http.post(f"{box.base}/shops/other-shop/admin/oauth/access_token", data={})
    assert r.status_code == 404
