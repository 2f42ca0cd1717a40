"""The Overview per channel (issue 14): state, credential dates with the
days left, quota use and 429s in the last hour, drift — the figures the
commands print (``quota --json``, ``auth status --json``, ``sync status
--json``) for the same shop, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import re

from starlette.testclient import TestClient

from crossdock import secrets
from crossdock.access.users import add_user
from crossdock.clock import parse_iso
from crossdock.connectors.credentials import auth_status_doc
from crossdock.console.app import build_app
from crossdock.ratelimit.wiring import quota_doc
from crossdock.sync_engine.status import sync_status_doc
from tests.console.support import PASSWORD, login
from tests.metrics.support import UTC, seed_everything
from tests.sync_engine.catalog_env import catalog_env


def _cells(page: str, channel: str) -> dict[str, str]:
    """The channel's row on the Overview: {cell class: its text}."""
    row = re.search(r'<tr class="channel">\s*<td><a href="/orders\?channel=' + re.escape(channel) + r'">(.*?)</tr>',
                    page, re.S)
    assert row, f"no row for {channel}"
    return {m.group(1): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())
            for m in re.finditer(r'<td class="(\w+)">(.*?)</td>', row.group(1), re.S)}


def test_the_overview_shows_quota_and_429s_drift_and_days_left_per_channel(db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, db) as env:
        # Given a shop with a throttled call on eBay, a drifting listing and a client secret 10 days from expiry
        seed_everything(env)
        add_user(env.db, "viewer", "viewer", PASSWORD)
        client = TestClient(build_app(env.cfg, env.db, secret_key=secrets.keys()[0]))
        login(client, "viewer")
        # When a viewer opens the Overview, and the commands are run at the same time
        page = client.get("/").text
        now = dt.datetime.now(UTC)
        quota = quota_doc(env.cfg, env.db)["quota"]
        status = sync_status_doc(env.cfg, env.db, now)
        auth = {c["channel"]: c for c in auth_status_doc(env.cfg, env.db, now)["channels"]}
    # Then each channel's row says what the commands say
    for name in ("amazon-de", "ebay-uk", "shopify-eu"):
        ch, cells = env.cfg.channel(name), _cells(page, name)
        mine = [e for e in quota if e["kind"] == "bucket" and e["platform"] == ch.platform
                and e["account"] == ch.account]
        calls, throttled = sum(e["calls_last_hour"] for e in mine), sum(e["throttled_last_hour"] for e in mine)
        assert cells["quota"].startswith(f"{calls} calls · {throttled} × 429"), (name, cells["quota"])
        drift = status["channels"][name]["drift"]
        if drift is None:
            assert cells["drift"] == "not reconciled yet"
        elif drift["quantities"] or drift["prices"]:
            assert f"{drift['quantities']} quantities, {drift['prices']} prices" in cells["drift"]
        assert cells["state"] == status["channels"][name]["state"]
    assert "1 × 429" in _cells(page, "ebay-uk")["quota"]
    assert _cells(page, "ebay-uk")["drift"].startswith("1 quantities")
    secret_until = auth["amazon-de"]["client_secret_expires_at"]
    left = int((parse_iso(secret_until) - now).total_seconds() // 86_400)
    assert left == 9 and f"client secret until {secret_until[:10]} ({left} days left)" in \
        _cells(page, "amazon-de")["credentials"]


def test_a_channel_whose_credential_expired_shows_auth_expired_with_its_code(db, tmp_path, monkeypatch):
    from sqlalchemy import update

    from crossdock.db import models as m
    from tests.console.support import console, seed

    seed(db)
    with db.write() as s:
        s.execute(update(m.Credential).where(m.Credential.channel == "amazon-de").values(
            client_secret_expires_at=dt.datetime.now(UTC) - dt.timedelta(days=3, hours=1)))
    client = console(db, tmp_path, monkeypatch)
    login(client, "viewer")
    cells = _cells(client.get("/").text, "amazon-de")
    assert cells["state"] == "auth expired XD-AUTH-004"
    assert "(expired 3 days ago)" in cells["credentials"] and "XD-AUTH-004" in cells["credentials"]
