"""New credentials from the Channels page (issue 14: "admin also manages
credentials"): what `crossdock auth set` stores, audited as the admin via
console, the token never shown back; other roles are refused with the code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crossdock import secrets
from crossdock.audit import audit_rows
from crossdock.db import models as m
from crossdock.sync_engine.hand_pause import pause_by_hand
from tests.console.support import console, csrf_of, login, seed

NEW_TOKEN = "Atzr|new-refresh-token-DO-NOT-SHOW-4242"


def test_an_admin_stores_new_credentials_and_an_operator_is_refused(db, tmp_path, monkeypatch):
    seed(db)
    pause_by_hand(db, "amazon-de", reason="the seller re-authorises the app")
    today = dt.datetime.now(dt.timezone.utc).date()
    form = {"refresh_token": NEW_TOKEN, "authorised_on": today.isoformat(),
            "client_secret_rotated_on": (today - dt.timedelta(days=10)).isoformat()}
    operator = console(db, tmp_path, monkeypatch)
    login(operator, "operator")
    page = operator.get("/channels").text
    assert "Store credentials" not in page          # the form is the admin's (with the credential dates)
    refused = operator.post("/channels/amazon-de/credentials", data={**form, "csrf": csrf_of(page)},
                            follow_redirects=False)
    assert (refused.status_code, "XD-ACCESS-005" in refused.text) == (403, True)
    with db.read() as s:
        assert NEW_TOKEN not in [secrets.decrypt(c) for c in s.scalars(select(m.Credential.refresh_token_enc))]
    admin = console(db, tmp_path, monkeypatch)
    login(admin, "admin")
    page = admin.get("/channels").text
    assert "Store credentials" in page
    done = admin.post("/channels/amazon-de/credentials", data={**form, "csrf": csrf_of(page)})
    assert done.status_code == 200 and NEW_TOKEN not in done.text
    authorised_to = (today + dt.timedelta(days=365)).isoformat()
    assert f"amazon-de: new credentials stored; authorisation valid to {authorised_to}" in done.text
    assert "resumed (was paused with XD-SYNC-009)" in done.text
    with db.read() as s:
        cred = s.scalar(select(m.Credential).where(m.Credential.channel == "amazon-de"))
        records = [r for r in audit_rows(s) if r["action"] == "auth.set"]
    assert secrets.decrypt(cred.refresh_token_enc) == NEW_TOKEN
    assert cred.authorisation_expires_at.date().isoformat() == authorised_to
    assert [(r["actor"], r["via"], r["subject"]) for r in records] == [("admin", "console", "channel amazon-de")]
    assert NEW_TOKEN not in str(records)
    bad = admin.post("/channels/amazon-de/credentials", data={"csrf": csrf_of(page), "refresh_token": "x",
                                                              "authorised_on": "tomorrow-ish"}, follow_redirects=False)
    assert bad.status_code == 400 and "XD-CFG-009" in bad.text
    missing = admin.post("/channels/amazon-de/credentials", data={"csrf": csrf_of(page), "refresh_token": " "},
                         follow_redirects=False)
    assert missing.status_code == 400 and "XD-CFG-009" in missing.text
