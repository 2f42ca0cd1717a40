"""The console's guard: logins, roles, CSRF, throttling, cookies, static
files and secrets, through Starlette's TestClient on a seeded database (SQLite
and PostgreSQL)."""

from __future__ import annotations

import pytest

from crossdock import secrets
from crossdock.access.tables import User
from crossdock.db import models as m
from tests.console.support import (CLIENT_SECRET, ORDER_ID, PASSWORD, REFRESH_TOKEN, console, csrf_of, login,
                                   seed)

from sqlalchemy import select

# page → the least role that may see it
PAGES = {"/": "viewer", "/orders": "viewer", f"/orders/{ORDER_ID}": "viewer", "/errors": "viewer",
         "/errors/XD-ACCESS-005": "viewer", "/jobs": "viewer", "/channels": "viewer", "/stock": "viewer",
         "/logs": "support",
         "/audit": "admin", "/users": "admin"}
ROLES = ("viewer", "support", "operator", "admin")


@pytest.fixture
def seeded(db, tmp_path, monkeypatch):
    ids = seed(db)
    return db, ids, lambda **kw: console(db, tmp_path, monkeypatch, **kw)


def test_each_role_sees_its_pages_and_is_refused_the_rest_with_a_code(seeded):
    """Given a user per role, each page answers 200 for the roles allowed it
    and 403 with XD-ACCESS-005 (shown on the page) for the others."""
    db, ids, make = seeded
    for role in ROLES:
        client = make()
        assert login(client, role).status_code == 303
        for page, least in PAGES.items():
            r = client.get(page)
            if ROLES.index(role) >= ROLES.index(least):
                assert r.status_code == 200, (role, page)
            else:
                assert (r.status_code, "XD-ACCESS-005" in r.text) == (403, True), (role, page)


def test_a_viewer_sees_the_order_but_the_trace_is_refused_out_loud(seeded):
    db, ids, make = seeded
    client = make()
    login(client, "viewer")
    page = client.get(f"/orders/{ORDER_ID}").text
    assert "Blue &lt;b&gt;mug&lt;/b&gt;" in page        # the platform's text, escaped
    assert "XD-ACCESS-005" in page and "order.reserve" not in page
    login(client, "support")
    assert "order.reserve" in client.get(f"/orders/{ORDER_ID}").text


def test_operator_actions_are_refused_to_lower_roles_and_audited_for_operators(seeded):
    """A viewer's and a support user's retry, pause and resume (with a valid
    form token) are 403 XD-ACCESS-005 and change nothing; an operator's run,
    and the audit log names the operator, via console, before and after."""
    from crossdock.audit import audit_rows

    db, ids, make = seeded
    actions = [f"/jobs/{ids['failed']}/retry", "/channels/ebay-gb/pause", "/channels/ebay-gb/resume"]
    for role in ("viewer", "support"):
        client = make()
        login(client, role)
        token = csrf_of(client.get("/jobs").text)
        for url in actions:
            r = client.post(url, data={"csrf": token}, follow_redirects=False)
            assert (r.status_code, "XD-ACCESS-005" in r.text) == (403, True), (role, url)
    with db.read() as s:
        assert audit_rows(s, action="jobs.retry") == []
    client = make()
    login(client, "operator")
    token = csrf_of(client.get("/jobs").text)
    for url in actions:
        assert client.post(url, data={"csrf": token, "reason": "carrier strike"},
                           follow_redirects=False).status_code == 303, url
    with db.read() as s:
        rows = [r for r in audit_rows(s) if not r["action"].startswith("users.")]
    assert [(r["action"], r["actor"], r["via"]) for r in rows] == [
        ("jobs.retry", "operator", "console"), ("channels.pause", "operator", "console"),
        ("channels.resume", "operator", "console")]
    assert rows[0]["before"]["status"] == "failed" and rows[0]["after"] == {"status": "pending",
                                                                            "ids": [ids["failed"]]}
    assert rows[1]["after"] == {"paused_code": "XD-SYNC-009", "reason": "carrier strike"}
    assert rows[2]["before"] == {"paused_code": "XD-SYNC-009"}
    assert "job %d back to pending" % ids["failed"] in client.get("/jobs?done=job %d back to pending"
                                                                  % ids["failed"]).text


def test_a_post_without_the_form_token_is_refused(seeded):
    """Logged in as an operator, a retry without csrf, or with another
    session's, is 403 XD-ACCESS-006 and the job stays failed."""
    db, ids, make = seeded
    client, other = make(), make()
    login(client, "operator")
    login(other, "operator")
    foreign = csrf_of(other.get("/jobs").text)
    for data in ({}, {"csrf": ""}, {"csrf": foreign}):
        r = client.post(f"/jobs/{ids['failed']}/retry", data=data, follow_redirects=False)
        assert (r.status_code, "XD-ACCESS-006" in r.text) == (403, True)
    form = client.get("/login")     # the login form itself needs its token
    r = client.post("/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False)
    assert (r.status_code, "XD-ACCESS-006" in r.text) == (403, True), form.status_code
    with db.read() as s:
        assert s.scalar(select(m.OutboxEntry.status).where(m.OutboxEntry.id == ids["failed"])) == "failed"


def test_five_wrong_passwords_throttle_the_login(seeded):
    db, ids, make = seeded
    client = make()
    statuses = [login(client, "admin", "wrong password").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    right = login(client, "admin")
    assert right.status_code == 429 and "XD-ACCESS-003" in right.text and int(right.headers["Retry-After"]) > 0
    assert client.get("/", follow_redirects=False).status_code == 303      # still not logged in


def test_login_makes_a_new_session_and_logout_ends_it(seeded):
    """Session fixation: a session cookie planted before login is not the one
    after it; logging out ends the session on the server (the old cookie
    no longer works)."""
    db, ids, make = seeded
    client = make()
    client.cookies.set("xd_session", "planted-by-an-attacker")
    r = login(client, "support")
    session = r.cookies.get("xd_session")
    assert session and session != "planted-by-an-attacker"
    assert client.get("/").status_code == 200
    again = login(client, "support").cookies.get("xd_session")
    assert again != session
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    thief = make()
    thief.cookies.set("xd_session", again)
    r = thief.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    api = thief.get("/api/status")
    assert (api.status_code, api.json()["error"]["code"]) == (401, "XD-ACCESS-007")


@pytest.mark.parametrize("https", [False, True])
def test_cookie_flags(seeded, https):
    db, ids, make = seeded
    client = make(https=https)
    header = login(client, "viewer").headers.get_list("set-cookie")
    session = next(h for h in header if h.startswith("xd_session="))
    flags = {part.strip().split("=")[0].lower() for part in session.split(";")}
    assert {"httponly", "path", "samesite"} <= flags and "samesite=lax" in session.lower()
    assert ("secure" in flags) is https


def test_static_files_do_not_leave_their_folder(seeded):
    db, ids, make = seeded
    client = make()
    assert client.get("/static/console.css").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2fdb/models.py",
                 "/static//etc/passwd", "/static/templates/../../app.py"):
        r = client.get(path)
        assert r.status_code == 404 and "build_app" not in r.text, path


def test_no_secret_in_any_page_or_api_response(seeded):
    """The client secret, stored tokens (plain or encrypted), password hashes
    and API tokens appear in no page and no API document an admin can open."""
    from crossdock.access.users import new_token

    db, ids, make = seeded
    api_token = new_token(db, "admin")["token"]
    with db.read() as s:
        hashes = list(s.scalars(select(User.password_hash)))
        encrypted = [c for row in s.scalars(select(m.Credential)) for c in (row.refresh_token_enc, row.access_token_enc)]
    secrets_ = [CLIENT_SECRET, REFRESH_TOKEN, "Atza|access-DO-NOT-SHOW", api_token, PASSWORD, *hashes, *encrypted]
    client = make()
    login(client, "admin")
    bodies = [client.get(p).text for p in [*PAGES, "/login"]]
    headers = {"Authorization": f"Bearer {api_token}"}
    for path in ("/api/status", "/api/orders", f"/api/orders/{ORDER_ID}", "/api/logs", "/api/jobs/failed",
                 "/api/audit", "/api/export/orders", "/api/export/customers", "/api/export/listings"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, path
        bodies.append(r.text)
    for body in bodies:
        for secret in secrets_:
            assert secret not in body
    assert secrets.decrypt(encrypted[0]) == REFRESH_TOKEN      # the check looked for the real thing


def test_the_overview_lists_each_problem_with_its_code_and_remedy(seeded):
    """A paused channel, a credential about to expire and a failed job show on
    the overview with their codes (linked to the catalogue) and remedies."""
    from crossdock.sync_engine.hand_pause import pause_by_hand

    db, ids, make = seeded
    pause_by_hand(db, "ebay-gb", reason="carrier strike")
    client = make()
    login(client, "viewer")
    page = client.get("/").text
    problems = page[page.index("<h2>Problems"):page.index("<h2>Channels")]
    for code, remedy in (("XD-SYNC-009", "crossdock auth resume ebay-gb"), ("XD-AUTH-005", "crossdock auth status"),
                         ("XD-SYNC-001", "crossdock jobs failed --channel ebay-gb")):
        assert f'href="/errors/{code}"' in problems and remedy in problems, code
    assert "carrier strike" in problems


def test_every_response_forbids_framing_and_caching_of_shop_data(seeded):
    db, ids, make = seeded
    client = make()
    login(client, "operator")
    for path in ("/", "/jobs", "/login", "/api/status"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    assert "cache-control" not in client.get("/static/console.css").headers


def test_stock_is_adjusted_by_an_operator_with_a_reason_and_refused_to_support(seeded):
    """Support sees levels and history but its adjustment is 403 XD-ACCESS-005;
    an operator's is applied, in the history as console:operator and in the
    audit log (stock.adjust via console, on hand before and after)."""
    from crossdock.audit import audit_rows

    db, ids, make = seeded
    client = make()
    login(client, "support")
    page = client.get("/stock?sku=MUG-1")
    assert page.status_code == 200 and "XD-ACCESS-005" in page.text       # the note, before anything is sent
    form = {"csrf": csrf_of(page.text), "sku": "MUG-1", "warehouse": "DE", "delta": "+7", "reason": "receive"}
    refused = client.post("/stock/adjust", data=form, follow_redirects=False)
    assert (refused.status_code, "XD-ACCESS-005" in refused.text) == (403, True)
    login(client, "operator")
    form["csrf"] = csrf_of(client.get("/stock").text)
    done = client.post("/stock/adjust", data=form)
    assert done.status_code == 200 and "MUG-1 @ DE: +7 → on hand 7" in done.text
    assert "console:operator" in done.text and "receive" in done.text
    with db.read() as s:
        [row] = audit_rows(s, action="stock.adjust")
    assert (row["actor"], row["via"], row["before"], row["after"]["on_hand"]) == ("operator", "console",
                                                                                  {"on_hand": 0}, 7)
    bad = client.post("/stock/adjust", data={**form, "delta": "lots"}, follow_redirects=False)
    assert bad.status_code == 400 and "XD-" in bad.text
