"""`crossdock auth connect CHANNEL`: from a fresh configuration to a working
channel with no token pasted, against the sandbox's consent pages and token
endpoints; and every way the flow refuses (state, decline, timeout, a bad
Shopify hmac, a code used twice), storing nothing."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock import config, secrets
from crossdock.audit import audit_rows
from crossdock.connectors.account_connect import connect_channel
from crossdock.connectors.tokens import SqlTokenStore
from crossdock.db.engine import Database
from tests.db_template import migrate
from crossdock.errors import CrossdockError
from crossdock.sandbox.core import Sandbox
from tests.cli_run import crossdock as in_process
from tests.deploy.harness import clean_env, crossdock

#: One channel per platform, written by `config init` and then stripped of its tokens.
CONNECTED = {"amazon": "amazon-us", "ebay": "ebay-gb", "shopify": "shopify-crossdock-eu"}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(time_scale=20, seed=11) as sb:
        yield sb


def fresh_site(sandbox: Sandbox, folder: Path) -> Path:
    """`config init` from the sandbox, then no refresh or Trading token for the channels of CONNECTED:
    what an operator has before connecting any account."""
    done = crossdock("config", "init", "--from-sandbox", sandbox.admin_url, "--out", str(folder / "crossdock.toml"),
                     cwd=folder.parent, env=clean_env())
    assert done.returncode == 0, done.stderr
    path = folder / "crossdock.toml"
    kept, section = [], None
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]").removeprefix("channels.")
        if section in CONNECTED.values() and line.startswith(("refresh_token =", "trading_token =")):
            continue
        kept.append(line)
    path.write_text("\n".join(kept) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sandbox_channel(sandbox: Sandbox, platform: str) -> str:
    sim = sandbox.sims[platform]
    if platform == "amazon":
        return next(c for c in sim.channels() if c.endswith(":ATVPDKIKX0DER"))
    return sim.channels()[0]


@pytest.mark.slow       # nine crossdock processes, as an operator types them: 17-30 s on a shared machine
def test_from_a_fresh_config_to_a_working_channel_with_no_token_pasted(sandbox, tmp_path):
    # Given a configuration written by `config init` with no token for one channel per platform
    site = tmp_path / "site"
    path = fresh_site(sandbox, site)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    only = [arg for channel in CONNECTED.values() for arg in ("--channel", channel)]
    for platform in CONNECTED:
        sandbox.sims[platform].set_listing(sandbox_channel(sandbox, platform), f"CONNECT-{platform.upper()}", 7)
    # a channel with no token cannot work yet: XD-AUTH-002, naming `auth connect`
    before = json.loads(crossdock("listings", "pull", *only, "--json", cwd=site).stdout)
    assert {c["channel"]: c["error"]["code"] for c in before["channels"]} == dict.fromkeys(CONNECTED.values(),
                                                                                         "XD-AUTH-002")
    check = crossdock("config", "check", "--json", cwd=site)
    assert check.returncode == 3
    assert {p["channel"] for p in json.loads(check.stdout)["problems"] if p["code"] == "XD-AUTH-002"} == set(
        CONNECTED.values())
    for platform, channel in CONNECTED.items():
        # When the operator runs `auth connect` and the seller approves in the browser
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "crossdock", "auth", "connect", channel, "--port", str(port),
                                 "--timeout", "60", "--json"], cwd=site, env=clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None and proc.stdout is not None
            assert proc.stderr.readline().startswith(f"Open this URL to authorise {channel}")
            url = proc.stderr.readline().strip()
            assert url.startswith("http://127.0.0.1:") and "state=" in url
            assert urllib.parse.quote(f"http://127.0.0.1:{port}/callback", safe="") in url
            # the test is the browser: the consent page redirects to the loopback callback
            page = httpx.get(url, follow_redirects=True, timeout=30)
            assert page.status_code == 200 and f"{channel} is connected" in page.text
            assert str(page.url).startswith(f"http://127.0.0.1:{port}/callback?")
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Then the command exits 0 and says what it stored (never a token)
        assert proc.returncode == 0, err
        doc = json.loads(out)
        assert doc["channel"] == channel and doc["refresh_token"] == "replaced" and doc["access_token"] == "stored"
        assert doc["authorised_at"][:10] == today
        assert "Atzr|" not in out + err and "shprt_" not in out + err and "v^1.1" not in out + err
    # and real calls work with the tokens the consents gave
    pull = crossdock("listings", "pull", *only, "--adopt", "--json", cwd=site)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    result = json.loads(pull.stdout)
    assert result["failed"] == [], result
    assert {c["channel"]: (c["read"], c["counts"]["adopted"]) for c in result["channels"]} == dict.fromkeys(
        CONNECTED.values(), (1, 1))
    # and `auth status` shows each channel authorised today, its refresh token stored
    status = crossdock("auth", "status", "--json", cwd=site)
    assert status.returncode in (0, 4), status.stderr
    rows = {c["channel"]: c for c in json.loads(status.stdout)["channels"]}
    for platform, channel in CONNECTED.items():
        assert rows[channel]["refresh_token_stored"] and rows[channel]["authorised_at"][:10] == today
    assert rows["amazon-us"]["authorisation_expires_at"][:10] == (dt.date.today() + dt.timedelta(days=365)).isoformat()
    assert rows["ebay-gb"]["refresh_expires_at"] is not None      # the 18-month consent, as eBay said
    check = crossdock("config", "check", "--json", cwd=site)
    assert check.returncode == 0, check.stdout
    # and no token was ever written to the configuration
    assert "refresh_token" not in path.read_text().split("[channels.amazon-us]")[1].split("[channels.amazon-de]")[0]


# ---------------------------------------------------------------- refusals (in this process)


@pytest.fixture
def site(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    path = fresh_site(sandbox, tmp_path / "site")
    cfg = config.load(path, env={})
    db = Database(cfg.database_url)
    migrate(db)
    yield cfg, db
    db.dispose()
    secrets.use_key_file(None)


def run(cfg: Any, db: Database, channel: str, browse: Callable[[str], Any] | None, **kw: Any) -> dict[str, Any]:
    """``connect_channel`` with ``browse(consent_url)`` as the seller's browser (in a thread)."""
    seen: dict[str, Any] = {}

    def announce(url: str) -> None:
        seen["url"] = url
        if browse is not None:
            threading.Thread(target=lambda: seen.setdefault("browsed", browse(url)), daemon=True).start()

    return connect_channel(cfg, db, channel, announce=announce, **{"timeout_s": 30, **kw})


def consent_redirect(url: str) -> str:
    """Where the consent page sends the browser (not followed)."""
    resp = httpx.get(url, follow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def with_params(url: str, **changes: str) -> str:
    split = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    query.update(changes)
    return urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(query)))


def nothing_stored(db: Database, channel: str) -> None:
    state = SqlTokenStore(db).load(channel)
    assert state.refresh_token is None and state.access_token is None
    with db.read() as s:
        assert audit_rows(s, action="auth.connect") == []


def refused(code: str, fn: Callable[[], Any]) -> CrossdockError:
    with pytest.raises(CrossdockError) as exc:
        fn()
    assert exc.value.code == code, exc.value
    return exc.value


def test_a_callback_with_another_state_is_refused_and_nothing_stored(site):
    cfg, db = site
    browse = lambda url: httpx.get(with_params(consent_redirect(url), state="forged"), timeout=30)  # noqa: E731
    refused("XD-AUTH-012", lambda: run(cfg, db, "ebay-gb", browse))
    nothing_stored(db, "ebay-gb")


def test_a_declined_consent_is_refused_and_nothing_stored(site):
    cfg, db = site
    browse = lambda url: httpx.get(url + "&sandbox_decision=deny", follow_redirects=True, timeout=30)  # noqa: E731
    err = refused("XD-AUTH-013", lambda: run(cfg, db, "amazon-us", browse))
    assert "access_denied" in str(err.detail)
    nothing_stored(db, "amazon-us")


def test_no_consent_within_the_timeout(site):
    cfg, db = site
    err = refused("XD-AUTH-011", lambda: run(cfg, db, "shopify-crossdock-eu", None, timeout_s=0.5))
    assert "0.5 s" in str(err.detail)
    nothing_stored(db, "shopify-crossdock-eu")


def test_a_shopify_callback_whose_hmac_does_not_verify_is_refused(site):
    cfg, db = site
    # the code is genuine, the shop is changed after Shopify signed the redirect
    browse = lambda url: httpx.get(with_params(consent_redirect(url), shop="other-shop.myshopify.com"),  # noqa: E731
                                   timeout=30)
    err = refused("XD-AUTH-012", lambda: run(cfg, db, "shopify-crossdock-eu", browse))
    assert "hmac" in str(err.detail)
    nothing_stored(db, "shopify-crossdock-eu")


def test_the_port_asked_for_is_taken(site):
    cfg, db = site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        refused("XD-AUTH-015", lambda: run(cfg, db, "ebay-gb", None, port=s.getsockname()[1]))


def test_the_browser_opens_with_open_and_auth_status_shows_the_date(site):
    cfg, db = site
    opened: list[str] = []

    def browser(url: str) -> None:      # webbrowser.open's place
        opened.append(url)
        threading.Thread(target=httpx.get, args=(url,), kwargs={"follow_redirects": True, "timeout": 30},
                         daemon=True).start()

    doc = run(cfg, db, "ebay-gb", None, open_browser=browser)
    assert opened and opened[0].startswith(cfg.channel("ebay-gb").urls["consent_url"] + "?")
    assert doc["refresh_expires_at"][:10] == (dt.datetime.fromisoformat(doc["authorised_at"])
                                              + dt.timedelta(seconds=47_304_000)).date().isoformat()
    # what a person reads: the authorisation date under the table
    text = in_process("auth", "status", cwd=cfg.path.parent, env={"COLUMNS": "200"})
    assert f"ebay-gb: authorised on {doc['authorised_at'][:10]}" in text.stdout, text.stdout + text.stderr


@pytest.mark.parametrize("channel", sorted(CONNECTED.values()))
def test_a_code_used_twice_is_refused_by_the_token_endpoint(site, db, channel):
    # on SQLite (the configuration's database) and on PostgreSQL
    cfg, own = site
    used: dict[str, str] = {}

    def first(url: str) -> Any:
        callback = consent_redirect(url)
        used["query"] = urllib.parse.urlsplit(callback).query
        return httpx.get(callback, timeout=30)

    doc = run(cfg, db, channel, first)
    assert doc["refresh_token"] == "replaced"
    assert SqlTokenStore(own).load(channel).refresh_token is None      # stored in `db` only
    with db.read() as s:
        assert [r["subject"] for r in audit_rows(s, action="auth.connect")] == [f"channel {channel}"]
    stored = SqlTokenStore(db).load(channel)
    old = dict(urllib.parse.parse_qsl(used["query"]))
    code_key = "spapi_oauth_code" if channel.startswith("amazon") else "code"

    def replay(url: str) -> Any:
        # a genuine new callback (its state and, for Shopify, a valid hmac) carrying the code already used
        callback = consent_redirect(url)
        fresh = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
        fresh[code_key] = old[code_key]
        if channel.startswith("shopify"):
            from crossdock.sandbox.shopify.oauth import signed

            secret = cfg.channel(channel).client_secret.reveal()
            fresh = signed({k: v for k, v in fresh.items() if k != "hmac"}, secret)
        return httpx.get(callback.split("?")[0] + "?" + urllib.parse.urlencode(fresh), timeout=30)

    err = refused("XD-AUTH-014", lambda: run(cfg, db, channel, replay))
    # the platform's own answer: invalid_grant (Amazon LWA, eBay) or Shopify's invalid_request
    assert ("invalid_grant" if not channel.startswith("shopify") else "already used") in str(err.detail)
    after = SqlTokenStore(db).load(channel)
    assert after.refresh_token == stored.refresh_token       # the tokens of the first consent are kept


def test_the_shopify_callback_signature_is_shopifys():
    # the example of Shopify's OAuth documentation (secret "hush")
    from crossdock.connectors.shopify.connect import callback_hmac

    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
              "state": "0.6784241404160823", "timestamp": "1337178173",
              "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"}
    assert callback_hmac(params, "hush") == params["hmac"]
    # a delimiter inside a value cannot pass for another parameter
    assert callback_hmac({"a": "1&b=2"}, "hush") != callback_hmac({"a": "1", "b": "2"}, "hush")


@pytest.mark.parametrize("channel", ["amazon-us", "shopify-crossdock-eu"])
def test_a_registered_redirect_url_is_sent_instead_of_the_loopback_one(site, channel):
    # Given the app's registered redirect URL (here one that lands on the loopback callback as a forwarder would)
    cfg, db = site
    port = free_port()
    registered = f"http://127.0.0.1:{port}/registered/callback"
    cfg.channel(channel).urls["redirect_url"] = registered
    seen: list[str] = []

    def browse(url: str) -> Any:
        seen.append(url)
        return httpx.get(url, follow_redirects=True, timeout=30)

    # When the seller approves, Then the consent URL and the code exchange carry it (the sandbox checks that the
    # exchange names the redirect URI the code was issued for)
    doc = run(cfg, db, channel, browse, port=port)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(seen[0]).query))
    assert query["redirect_uri"] == registered and doc["refresh_token"] == "replaced"
