"""Exports for support (issue 14: "support also reads traces, logs and
exports"): the page and API give the file `crossdock export KIND` writes;
a viewer is refused with its code."""

from __future__ import annotations

from crossdock.access.users import new_token
from tests.cli_run import crossdock
from tests.console.support import CLIENT_SECRET, ORDER_ID, console, login, seed


def test_support_exports_what_the_command_writes_and_a_viewer_is_refused(db, tmp_path, monkeypatch):
    seed(db)
    client = console(db, tmp_path, monkeypatch)
    env = {"CROSSDOCK_DATABASE_URL": db.url, "XD_CONSOLE_CLIENT_SECRET": CLIENT_SECRET}
    cli_csv = crossdock("export", "orders", cwd=tmp_path, env=env)
    cli_json = crossdock("export", "customers", "--format", "json", "--from", "2000-01-01", cwd=tmp_path, env=env)
    assert cli_csv.returncode == 0 and ORDER_ID in cli_csv.stdout
    # the API, with a support user's token
    support = {"Authorization": f"Bearer {new_token(db, 'support')['token']}"}
    r = client.get("/api/export/orders", headers=support)
    assert (r.status_code, r.headers["content-type"]) == (200, "text/csv; charset=utf-8")
    assert r.text == cli_csv.stdout
    r = client.get("/api/export/customers?format=json&from=2000-01-01", headers=support)
    assert r.status_code == 200 and r.json() == cli_json.doc
    # a viewer: refused with the code, by the API and on the page
    viewer = {"Authorization": f"Bearer {new_token(db, 'viewer')['token']}"}
    r = client.get("/api/export/orders", headers=viewer)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "XD-ACCESS-005")
    login(client, "viewer")
    r = client.get("/export/orders")
    assert r.status_code == 403 and "XD-ACCESS-005" in r.text
    # the page, logged in as support: the link on the Orders page and the same file
    login(client, "support")
    assert 'href="/export/orders"' in client.get("/orders").text
    page = client.get("/export/orders")
    assert page.status_code == 200 and page.text == cli_csv.stdout
    assert page.headers["content-disposition"] == 'attachment; filename="crossdock-orders.csv"'
    for url in ("/export/nothing", "/export/orders?format=xml", "/export/orders?from=yesterday"):
        r = client.get(url)
        assert r.status_code == 400 and "XD-CFG-009" in r.text, url
