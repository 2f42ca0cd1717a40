"""Channels: an operator gets a new access token now (as `crossdock auth refresh`),
through the sandbox's real token endpoint; the change is audited with its dates and
never shows a token; an admin reads the credential dates, a support user neither."""

from __future__ import annotations

from starlette.testclient import TestClient

from crossdock import secrets
from crossdock.access.users import add_user, new_token
from crossdock.audit import audit_rows
from crossdock.connectors.tokens import SqlTokenStore
from crossdock.console.app import build_app
from tests.console.support import PASSWORD, csrf_of, login
from tests.sync_engine.catalog_env import catalog_env

CHANNEL = "shopify-eu"


def test_an_operator_refreshes_a_token_now_and_an_admin_reads_the_credential_dates(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        for role in ("support", "operator", "admin"):
            add_user(env.db, role, role, PASSWORD)
        app = build_app(env.cfg, env.db, secret_key=secrets.keys()[0])
        store = SqlTokenStore(env.db)
        before = store.load(CHANNEL).access_token
        # Given a support user: no refresh button works for them, and no credential dates
        support = TestClient(app)
        login(support, "support")
        page = support.get("/channels").text
        assert "Credential dates" not in page
        refused = support.post(f"/channels/{CHANNEL}/refresh", data={"csrf": csrf_of(page)}, follow_redirects=False)
        assert refused.status_code == 403 and "XD-ACCESS-005" in refused.text
        assert store.load(CHANNEL).access_token == before
        # When an operator presses "Refresh token now"
        operator = TestClient(app)
        login(operator, "operator")
        page = operator.get("/channels").text
        done = operator.post(f"/channels/{CHANNEL}/refresh", data={"csrf": csrf_of(page)})
        # Then the platform gave a new token, the page says until when, and shows no token
        after = store.load(CHANNEL)
        assert after.access_token and after.access_token != before
        assert done.status_code == 200 and f"{CHANNEL}: new access token, valid until" in done.text
        assert after.access_token not in done.text
        # And the API does the same for an operator's token (the dates, never the token)
        api = operator.post(f"/api/channels/{CHANNEL}/refresh",
                            headers={"Authorization": f"Bearer {new_token(env.db, 'operator')['token']}"})
        assert api.status_code == 200 and api.json()["refreshed"] is True
        assert store.load(CHANNEL).access_token not in api.text
        with env.db.read() as s:
            rows = audit_rows(s, action="channels.refresh_token")
        assert [(r["actor"], r["via"], r["subject"]) for r in rows] == [
            ("operator", "console", f"channel {CHANNEL}"), ("operator", "api", f"channel {CHANNEL}")]
        assert rows[0]["after"]["access_expires_at"] and "token" not in str(rows[0]["after"]).replace("expires", "")
        # And an admin reads the credential dates of every channel (the token's as the API refresh left it)
        now = store.load(CHANNEL)
        admin = TestClient(app)
        login(admin, "admin")
        page = admin.get("/channels").text
        assert "Credential dates" in page and now.access_expires_at.isoformat() in page
        assert now.access_token not in page
