"""``crossdock sync run`` behaves like the engine's own runs (issue 11 §4,
issue 19 §6): every failure is in the sync log with its code, an auth failure
pauses only its channel, a run over all channels goes on after one fails and
exits 4 naming it (or with the worst failure's exit status when all failed),
``--json`` is one document with every channel's result, the text is a table,
and an import far behind is caught up by one command.

Run in-process (``crossdock.cli.main``) against the in-process sandbox with
the demo's four channels (:func:`tests.sync_engine.catalog_env.catalog_env`)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from rich.console import Console
from sqlalchemy import select

from crossdock.cli import Application
from crossdock.db.models import Channel, SyncEvent
from crossdock.sandbox.core import Fault
from crossdock.sync_engine import cursors
from tests.sync_engine.catalog_env import CHANNELS, catalog_env


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch):
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    monkeypatch.delenv("CROSSDOCK_DATABASE_URL", raising=False)


def cli(env, capsys, *args: str, obj=None) -> tuple[int, str, str]:
    from crossdock.cli import main

    rc = main(["--config", str(env.config_path), *args], obj=obj)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def cli_json(env, capsys, *args: str, obj=None) -> tuple[int, dict, str]:
    rc, out, err = cli(env, capsys, *args, "--json", obj=obj)
    try:
        return rc, json.loads(out), err
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document (rc={rc}):\n{out}\n{err}")


def events(env, **where) -> list[SyncEvent]:
    with env.db.read() as s:
        stmt = select(SyncEvent).order_by(SyncEvent.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(SyncEvent, column) == value)
        return list(s.scalars(stmt))


def paused_codes(env) -> dict[str, str | None]:
    with env.db.read() as s:
        return dict(s.execute(select(Channel.name, Channel.paused_code)).all())


def position(env, channel: str, stream: str = "orders") -> dt.datetime | None:
    with env.db.read() as s:
        cur = cursors.get_cursor(s, channel, stream)
    return cur.position if cur else None


def revoke_ebay(env) -> None:
    """The eBay seller withdrew the app: no refresh, and no access token left."""
    sim = env.sb.sims["ebay"]
    sim.auth_scenario("revoke_refresh_token", None)
    sim.auth_scenario("expire_access_tokens", None)


def test_a_revoked_channel_is_paused_logged_and_named_while_the_others_import(sqlite_db, tmp_path, monkeypatch,
                                                                               capsys):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given the eBay seller revoked crossdock's access
        revoke_ebay(env)

        # When orders are imported for every channel
        rc, doc, err = cli_json(env, capsys, "sync", "run", "--job", "orders")

        # Then the run went on with the other channels and exits 4 (partial), naming eBay on stderr
        assert rc == 4 and doc["exit"] == 4 and doc["job"] == "orders"
        assert sorted(doc["channels"]) == sorted(CHANNELS)
        ebay = doc["channels"]["ebay-uk"]
        assert ebay["outcome"] == "paused"
        assert ebay["error"]["code"] == "XD-AUTH-002" and ebay["error"]["exit"] == 3
        assert ebay["error"]["action"] == "pause" and "ebay-uk" in ebay["error"]["message"]
        assert doc["failed"] == [{"channel": "ebay-uk", "outcome": "paused", "code": "XD-AUTH-002"}]
        assert doc["channels"]["amazon-de"]["outcome"] == "ok"
        assert doc["channels"]["amazon-de"]["channels"] == ["amazon-de", "amazon-us"]
        assert doc["channels"]["amazon-us"] == {"outcome": "skipped", "note": "imported with amazon-de in this run"}
        assert doc["channels"]["shopify-eu"]["outcome"] == "ok" and doc["channels"]["shopify-eu"]["caught_up"]
        assert "ebay-uk: XD-AUTH-002" in err and "channel paused" in err
        # ... only eBay is paused, with the engine's pause (its code, in the log)
        assert paused_codes(env) == {"amazon-de": None, "amazon-us": None, "ebay-uk": "XD-AUTH-002",
                                     "shopify-eu": None}
        rc, logged, _ = cli_json(env, capsys, "logs", "--code", "XD-AUTH")
        assert rc == 0 and [(e["channel"], e["operation"], e["code"]) for e in logged] == [
            ("ebay-uk", "channel.pause", "XD-AUTH-002")]
        calls_before = env.calls()

        # When the same run is typed again, as text
        rc, out, err = cli(env, capsys, "sync", "run", "--job", "orders")

        # Then eBay is reported paused with its code and skipped: no call to eBay, nothing logged again
        assert rc == 4
        assert "{'" not in out and "sync run --job orders" in out
        for word in ("ebay-uk", "paused", "XD-AUTH-002", "amazon-de", "ok", "caught up", "skipped"):
            assert word in out, word
        assert "ebay-uk: XD-AUTH-002" in err and "Try: crossdock auth set" in err
        assert not {k: v for k, v in env.calls().items() if k[0] == "ebay" and v != calls_before.get(k)}
        assert len(events(env, code="XD-AUTH-002")) == 1

        # And a run of that channel alone, every channel of it failed: the failure's own exit status (3)
        rc, doc, _ = cli_json(env, capsys, "sync", "run", "--job", "orders", "--channel", "ebay-uk")
        assert rc == 3 and doc["exit"] == 3 and doc["channels"]["ebay-uk"]["outcome"] == "paused"


def test_faults_are_logged_with_their_codes_and_every_channel_failing_exits_with_the_worst(
        sqlite_db, tmp_path, monkeypatch, capsys):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given eBay answers with an HTML 503 page and Shopify drops every connection
        env.sb.faults.add(Fault("html_503", platform="ebay"))
        env.sb.faults.add(Fault("drop", platform="shopify"))

        # When orders are imported for those two channels, one after the other in one run each
        rc_ebay, doc_ebay, _ = cli_json(env, capsys, "sync", "run", "--job", "orders", "--channel", "ebay-uk")
        rc, out, err = cli(env, capsys, "sync", "run", "--job", "orders")

        # Then each failure has its code, in the document, in the table and in the sync log
        assert rc_ebay == 3 and doc_ebay["channels"]["ebay-uk"]["error"]["code"] == "XD-NET-003"
        assert "XD-NET-003" in out and "XD-NET-001" in out and "{'" not in out
        assert "ebay-uk: XD-NET-003" in err and "shopify-eu: XD-NET-001" in err
        failed = {(e.channel, e.code) for e in events(env, operation="job.orders", outcome="failed")}
        assert failed == {("ebay-uk", "XD-NET-003"), ("shopify-eu", "XD-NET-001")}
        # ... Amazon still imported (partial run), and network failures pause nothing
        assert rc == 4 and set(paused_codes(env).values()) == {None}
        assert position(env, "amazon-de") is not None and position(env, "ebay-uk") is None

        # When Amazon's getOrders is throttled too (more 429s than the client waits out)
        env.sb.faults.add(Fault("throttle", platform="amazon", operation="getOrders", count=40))
        rc, doc, err = cli_json(env, capsys, "sync", "run", "--job", "orders")

        # Then every channel failed: the exit status is the worst failure's (network, 3 — not quota's 1)
        assert {name: (r["outcome"], r["error"]["code"]) for name, r in doc["channels"].items()} == {
            "amazon-de": ("failed", "XD-QUOTA-001"), "amazon-us": ("failed", "XD-QUOTA-001"),
            "ebay-uk": ("failed", "XD-NET-003"), "shopify-eu": ("failed", "XD-NET-001")}
        assert rc == 3 and doc["exit"] == 3
        assert {e.channel for e in events(env, code="XD-QUOTA-001")} == {"amazon-de", "amazon-us"}
        rc, logged, _ = cli_json(env, capsys, "logs", "--code", "XD-NET")
        assert {(e["channel"], e["code"]) for e in logged} == {("ebay-uk", "XD-NET-003"), ("shopify-eu", "XD-NET-001")}


def test_an_import_far_behind_is_caught_up_by_one_command(sqlite_db, tmp_path, monkeypatch, capsys):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given a first Amazon import that must walk back three days, and eBay's cursor two days behind
        env.config_path.write_text(env.config_path.read_text().replace("initial_lookback_s = 600",
                                                                       "initial_lookback_s = 259200"))
        lag_s = {"amazon-de": 120.0, "ebay-uk": 5.0}
        start = env.ctx.clock.now()
        with env.db.write() as s:
            cursors.advance_cursor(s, "ebay-uk", "orders", start - dt.timedelta(days=2))
        placed = env.sb.sims["ebay"].place_order(env.sb_channels["ebay-uk"], [("XD-0001", 1)], buyer_country="GB")
        # ... and stderr is a terminal, so the progress shows
        terminal = io.StringIO()
        on_terminal = Console(file=terminal, force_terminal=True, width=120)

        # When orders are imported once for each
        rc, out, _ = cli(env, capsys, "sync", "run", "--job", "orders", "--channel", "amazon-de",
                         obj=Application(err=on_terminal))
        rc_ebay, doc, _ = cli_json(env, capsys, "sync", "run", "--job", "orders", "--channel", "ebay-uk",
                                   obj=Application(err=on_terminal))

        # Then each cursor reached the safety horizon of when the command started, window after window
        assert rc == 0 and rc_ebay == 0
        for name in ("amazon-de", "amazon-us"):
            assert position(env, name) >= start - dt.timedelta(seconds=lag_s["amazon-de"])
        assert position(env, "ebay-uk") >= start - dt.timedelta(seconds=lag_s["ebay-uk"])
        ebay = doc["channels"]["ebay-uk"]
        assert ebay["outcome"] == "ok" and ebay["caught_up"] is True and ebay["windows"] >= 8   # 6 h windows
        assert ebay["new"] == 1 and ebay["read"] >= 1 and placed
        amazon_windows = [e for e in events(env, operation="orders.import", channel="amazon-de")]
        assert 3 <= len(amazon_windows) <= 4                      # 24 h windows over 72 h, and the last minutes
        assert "caught up" in out and "{'" not in out
        # ... with a progress bar on the terminal (not with --json), and no request to run it again
        shown = terminal.getvalue()
        assert "amazon-de: orders up to" in shown and "100%" in shown and "ebay-uk" not in shown
        assert "again" not in out.lower()
        # ... inside the platforms' quotas
        throttled = sum(c["throttled"] for accounts in env.sb.stats.as_dict().values()
                        for ops in accounts.values() for c in ops.values())
        assert throttled == 0


def test_json_holds_every_channel_of_a_partial_prices_run(sqlite_db, tmp_path, monkeypatch, capsys):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        # Given XD-0003 priced in CHF with no CHF rate, and Shopify's credentials revoked
        env.sb.sims["shopify"].auth_scenario("revoke_refresh_token", None)
        env.sb.sims["shopify"].auth_scenario("expire_access_tokens", None)

        # When prices are pushed everywhere
        rc, doc, _ = cli_json(env, capsys, "sync", "run", "--job", "prices")

        # Then one document: the pushed channels partly done (one price not computable), Shopify paused
        assert rc == 4 and doc["job"] == "prices"
        for name in ("amazon-de", "amazon-us", "ebay-uk"):
            r = doc["channels"][name]
            assert r["outcome"] == "partial" and r["pushed"] == 4 and r["problems"][0]["code"] == "XD-MAP-005"
            assert "XD-0003" in r["note"]
        shopify = doc["channels"]["shopify-eu"]
        assert shopify["outcome"] == "paused" and shopify["error"]["code"].startswith("XD-AUTH-")
        assert doc["failed"] == [{"channel": "shopify-eu", "outcome": "paused", "code": shopify["error"]["code"]}]
        assert paused_codes(env)["shopify-eu"] == shopify["error"]["code"]


def test_the_command_offers_exactly_the_jobs_a_hand_run_knows():
    from crossdock.cli.sync import RUN_JOBS
    from crossdock.sync_engine.hand_run import JOB_KINDS

    assert RUN_JOBS == tuple(JOB_KINDS)
