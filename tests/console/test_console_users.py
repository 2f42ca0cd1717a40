"""The Users page (issue 14: "admin also manages users"): an admin adds a
user, sets a password and disables one, audited as that admin via console;
every other role is refused with its code and changes nothing."""

from __future__ import annotations

from crossdock.audit import audit_rows
from tests.console.support import console, csrf_of, login, seed

NEW_PASSWORD = "zoe's first password"


def test_an_admin_manages_users_in_the_console_and_others_are_refused(db, tmp_path, monkeypatch):
    seed(db)

    def make():                       # one client (browser) per person
        return console(db, tmp_path, monkeypatch)

    # an operator: the page and the form are refused with the code, nothing is added
    operator = make()
    login(operator, "operator")
    r = operator.get("/users")
    assert (r.status_code, "XD-ACCESS-005" in r.text) == (403, True)
    token = csrf_of(operator.get("/jobs").text)
    r = operator.post("/users/add", data={"csrf": token, "name": "mallory", "role": "admin",
                                          "password": "mallory's password"}, follow_redirects=False)
    assert (r.status_code, "XD-ACCESS-005" in r.text) == (403, True)
    # an admin sees every user (no hash) and adds one
    admin = make()
    login(admin, "admin")
    page = admin.get("/users").text
    assert all(f"<td>{name}</td>" in page for name in ("viewer", "support", "operator", "admin"))
    assert "$argon2" not in page and "mallory" not in page
    token = csrf_of(page)
    added = admin.post("/users/add", data={"csrf": token, "name": "zoe", "role": "support",
                                           "password": NEW_PASSWORD})
    assert added.status_code == 200 and "user zoe added (support)" in added.text
    short = admin.post("/users/add", data={"csrf": token, "name": "yan", "role": "viewer", "password": "short"},
                       follow_redirects=False)
    assert (short.status_code, "XD-ACCESS-011" in short.text) == (400, True)
    zoe = make()
    assert login(zoe, "zoe", NEW_PASSWORD).status_code == 303
    assert zoe.get("/logs").status_code == 200                      # support may read the sync log
    # a new password ends zoe's sessions; disabling refuses her logins
    changed = admin.post("/users/zoe/passwd", data={"csrf": token, "password": "zoe's second password"})
    assert changed.status_code == 200 and "user zoe: new password" in changed.text
    assert zoe.get("/", follow_redirects=False).status_code == 303
    assert login(zoe, "zoe", "zoe's second password").status_code == 303
    done = admin.post("/users/zoe/disable", data={"csrf": token})
    assert done.status_code == 200 and "user zoe disabled" in done.text
    refused = login(make(), "zoe", "zoe's second password")
    assert (refused.status_code, "XD-ACCESS-004" in refused.text) == (403, True)
    with db.read() as s:
        rows = [(r["action"], r["actor"], r["via"], r["subject"]) for r in audit_rows(s)
                if r["subject"] in ("user zoe", "user mallory", "user yan")]
    assert rows == [("users.add", "admin", "console", "user zoe"), ("users.passwd", "admin", "console", "user zoe"),
                    ("users.disable", "admin", "console", "user zoe")]
