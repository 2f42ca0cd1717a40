"""Login with Amazon and SP-API token checks in the Amazon sandbox."""

from __future__ import annotations

import re
import time

from crossdock.sandbox.amazon import AmazonSim
from crossdock.sandbox.core import Sandbox

EXPIRED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                       "details": "The access token you provided has expired."}]}
REVOKED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                       "details": "The access token you provided is revoked, malformed or invalid."}]}
INVALID_GRANT = {"error_description": "The request has an invalid grant parameter : refresh_token",
                 "error": "invalid_grant"}
INVALID_CLIENT = {"error_description": "Client authentication failed", "error": "invalid_client"}


def _orders_path(amz) -> str:
    return f"/orders/v0/orders?MarketplaceIds={amz.acct['marketplace_ids'][0]}&CreatedAfter=2020-01-01T00:00:00Z"


def test_describe_is_exactly_the_issue_block_and_deterministic(amz):
    block = amz.sb.describe()["amazon"]
    assert set(block) == {"base_url", "lwa_url", "accounts"}
    assert block["lwa_url"] == block["base_url"] + "/auth/o2/token"
    (acct,) = block["accounts"]
    assert set(acct) == {"seller_id", "marketplace_ids", "client_id", "client_secret", "refresh_token",
                         "notifications_queue"}
    assert acct["notifications_queue"]["url"].startswith(amz.sb.describe()["sqs"]["endpoint_url"] + "/")
    assert acct["marketplace_ids"] == ["ATVPDKIKX0DER", "A1PA6795UKMFR9"]
    assert re.fullmatch(r"A[A-Z0-9]{13}", acct["seller_id"])
    assert acct["client_id"].startswith("amzn1.application-oa2-client.")
    assert acct["refresh_token"].startswith("Atzr|")
    assert amz.sim.channels() == [f"amazon:{acct['seller_id']}:ATVPDKIKX0DER",
                                  f"amazon:{acct['seller_id']}:A1PA6795UKMFR9"]
    # Given the same seed, When another sandbox is built, Then the accounts are the same
    other = Sandbox(platforms=("amazon",), seed=21)
    same = other.sims["amazon"].describe()["accounts"]
    assert [{**a, "notifications_queue": a["notifications_queue"]["arn"]} for a in same] == \
        [{**a, "notifications_queue": a["notifications_queue"]["arn"]} for a in block["accounts"]]


def test_refresh_token_grant_returns_a_bearer_token_for_3600_s(amz):
    r = amz.http.post(amz.lwa, data=amz.lwa_form())
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")
    assert body["refresh_token"] == amz.acct["refresh_token"]
    assert amz.get(_orders_path(amz), token=body["access_token"]).status_code == 200


def test_token_endpoint_errors_are_lwa_shaped(amz):
    r = amz.http.post(amz.lwa, data=amz.lwa_form(client_secret="wrong"))
    assert (r.status_code, r.json()) == (401, INVALID_CLIENT)
    r = amz.http.post(amz.lwa, data=amz.lwa_form(refresh_token="Atzr|not-issued"))
    assert (r.status_code, r.json()) == (400, INVALID_GRANT)
    r = amz.http.post(amz.lwa, data=amz.lwa_form(grant_type="password"))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = amz.http.post(amz.lwa, data=amz.lwa_form(refresh_token=None))
    assert r.status_code == 400 and r.json() == {
        "error_description": "The request is missing a required parameter : refresh_token",
        "error": "invalid_request"}
    # JSON bodies are accepted too, as LWA does
    assert amz.http.post(amz.lwa, json=amz.lwa_form()).status_code == 200


def test_calls_without_or_with_an_unknown_token_are_403(amz):
    r = amz.http.get(amz.base + _orders_path(amz))
    assert r.status_code == 403
    assert r.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                    "details": ""}]}
    r = amz.get(_orders_path(amz), token="Atza|forged")
    assert (r.status_code, r.json()) == (403, REVOKED)


def test_access_token_expires_after_3600_platform_seconds(make_amz):
    # Given a sandbox where one real second is ten platform hours
    with Sandbox(platforms=("amazon",), time_scale=36_000, seed=5) as sb:
        a = make_amz(sb)
        token = a.new_token()
        # When less than an hour of platform time has passed, Then the token works
        assert a.get(_orders_path(a), token=token).status_code == 200
        # When more than 3600 platform seconds have passed, Then it is expired
        time.sleep(0.15)
        r = a.get(_orders_path(a), token=token)
        assert (r.status_code, r.json()) == (403, EXPIRED)
        a.http.close()


def test_admin_expire_access_tokens_gives_the_expired_answer(fresh):
    token = fresh.new_token()
    assert fresh.get(_orders_path(fresh), token=token).status_code == 200
    r = fresh.admin("POST", "/auth/amazon/expire_access_tokens", json={"account": fresh.seller})
    assert r.status_code == 200 and r.json()["expired"] >= 1
    r = fresh.get(_orders_path(fresh), token=token)
    assert (r.status_code, r.json()) == (403, EXPIRED)
    # a fresh token from the (still valid) refresh token works again
    assert fresh.get(_orders_path(fresh), token=fresh.new_token()).status_code == 200


def test_revoked_refresh_token_revokes_access_and_refresh(fresh):
    token = fresh.new_token()
    fresh.admin("POST", "/auth/amazon/revoke_refresh_token", json={"account": fresh.seller})
    assert (fresh.get(_orders_path(fresh), token=token).json()) == REVOKED
    r = fresh.http.post(fresh.lwa, data=fresh.lwa_form())
    assert (r.status_code, r.json()) == (400, INVALID_GRANT)
    fresh.admin("POST", "/auth/amazon/restore", json={"account": fresh.seller})
    assert fresh.get(_orders_path(fresh), token=fresh.new_token()).status_code == 200


def test_lapsed_seller_authorisation_fails_every_call(fresh):
    token = fresh.new_token()
    r = fresh.admin("POST", "/auth/amazon/expire_authorisation", json={})
    assert r.status_code == 200 and r.json()["authorisation_expired_at"].endswith("Z")
    for path in (_orders_path(fresh), f"/listings/2021-08-01/items/{fresh.seller}/X?marketplaceIds=ATVPDKIKX0DER"):
        r = fresh.get(path, token=token)
        assert (r.status_code, r.json()) == (403, REVOKED)
    assert fresh.http.post(fresh.lwa, data=fresh.lwa_form()).json() == INVALID_GRANT


def test_revoked_client_secret_blocks_refresh_but_not_live_tokens(fresh):
    token = fresh.new_token()
    fresh.admin("POST", "/auth/amazon/revoke_client_secret", json={"account": fresh.seller})
    r = fresh.http.post(fresh.lwa, data=fresh.lwa_form())
    assert (r.status_code, r.json()) == (401, INVALID_CLIENT)
    assert fresh.get(_orders_path(fresh), token=token).status_code == 200


def test_unknown_scenario_or_account_is_a_400(amz):
    assert amz.admin("POST", "/auth/amazon/explode", json={}).status_code == 400
    assert amz.admin("POST", "/auth/amazon/expire_access_tokens", json={"account": "NOPE"}).status_code == 400


def test_second_seller_via_install_has_its_own_credentials():
    sb = Sandbox(platforms=("amazon",), time_scale=600, seed=8)
    sim = AmazonSim.install(sb, sellers=2)
    sb.start()
    try:
        accts = sb.describe()["amazon"]["accounts"]
        assert len(accts) == 2 and accts[0]["seller_id"] != accts[1]["seller_id"]
        assert accts[0]["client_id"] != accts[1]["client_id"]
        assert len(sim.channels()) == 4
    finally:
        sb.stop()
