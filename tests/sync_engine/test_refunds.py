"""Refunds (``crossdock refunds issue|pull|list``, issue 18).

One order placed on each of Amazon US, eBay UK and Shopify in the sandbox and
imported. A partial then a full refund from crossdock lands on the platform
(the sandbox's own record), and crossdock's refunded total, the order's net and
the sales report's net follow; an over-refund is refused with its code and
nothing changes. Reading the platform's refunds back (the order import and
``refunds pull``) never counts crossdock's own refund twice, and a refund made
on the platform is read once however often it is read. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crossdock import synclog
from crossdock.audit import AuditRow
from crossdock.connectors.refunds import RefundRequest
from crossdock.db.models import Order, RefundRow
from crossdock.exports.write import export
from crossdock.models import Money
from crossdock.reports import build_report
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine.refunds import issue_refund, pull_refunds
from tests.cli_run import crossdock
from tests.sync_engine.support import made_envs, raised_code, wait_ticking
from tests.sync_engine.test_seller_cancel import SUPPORTED, _Env

pytestmark = pytest.mark.usefixtures("quota_waits_slept")
#: slower than the cancel tests: the orders placed at set-up stay inside the first import window on a busy machine
TIME_SCALE = 120.0
CENT = Decimal("0.01")


class _Refunds(_Env):
    def order(self, pid: str) -> dict[str, Any]:
        with self.db.read() as s:
            o = s.scalar(select(Order).where(Order.platform_order_id == pid))
            rows = [(r.platform_refund_id, r.amount, r.status, r.source) for r in
                    s.scalars(select(RefundRow).where(RefundRow.order_id == o.id).order_by(RefundRow.id))]
            audits = [a.action for a in s.scalars(select(AuditRow)) if a.subject.endswith("/" + pid)]
        return {"total": o.total_amount, "refunded": o.refunded_amount, "currency": o.currency, "rows": rows,
                "audits": audits, "channel": o.channel}

    def on_platform(self, name: str) -> list[Decimal]:
        """The refunds the platform holds for the order (the sandbox's own record), in its currency."""
        pid = self.placed[name]
        if name.startswith("ebay"):
            sim = self.sb.sims["ebay"]
            acct = sim.account_for_channel(self.channels[name])
            return [r["amount"] for r in sim.orders[acct.username][pid].refunds]
        if name.startswith("shopify"):
            shop = self.sb.sims["shopify"].shops[self.channels[name].split(":", 1)[1]]
            return [r.amount for r in shop.orders[int(pid)].refunds]
        return [a["amount"] for a in self.sb.sims["amazon"].orders[pid].adjustments]

    def net_elsewhere(self, pid: str) -> tuple[Any, ...]:
        """(refunded, net) as the console's order page and the orders export show them."""
        from crossdock.console.orders import order_doc

        with self.db.read() as s:
            [doc] = order_doc(s, pid)
        out = io.StringIO()
        export(self.db, "orders", out, fmt="json")
        rows = [r for r in json.loads(out.getvalue()) if r["order_id"] == pid]
        assert rows and len({(r["order_refunded"], r["order_net"]) for r in rows}) == 1
        return (Decimal(doc["amounts"]["shop"]["refunded"]), Decimal(doc["amounts"]["shop"]["net"]),
                len(doc["refunds"]), Decimal(rows[0]["order_refunded"]), Decimal(rows[0]["order_net"]))

    def net_in_report(self, name: str) -> tuple[Decimal, Decimal, Decimal]:
        rows = build_report("sales", self.cfg, self.db, by="month", channel=name).rows
        return (sum((Decimal(r["revenue"]) for r in rows), Decimal(0)),
                sum((Decimal(r["refunded"]) for r in rows), Decimal(0)),
                sum((Decimal(r["net"]) for r in rows), Decimal(0)))


@pytest.fixture
def env(tmp_path, monkeypatch, db):
    yield from made_envs(_Refunds, tmp_path, monkeypatch, db)


_code = raised_code


def test_partial_then_full_refund_on_each_platform(env):
    with Sandbox(time_scale=TIME_SCALE, seed=61) as sb:
        e = env(sb, seed=61)
        e.import_placed()
        for name in SUPPORTED:
            pid = e.placed[name]
            before = e.order(pid)
            total = before["total"]
            assert total and before["refunded"] == 0 and not before["rows"]
            # When the seller refunds part of it
            part = (total * Decimal("0.4")).quantize(CENT)
            doc = issue_refund(e.ctx, pid, str(part), "price_adjustment", note="scratched box")
            # Then the platform holds the refund, and crossdock counts what the platform took
            [taken] = e.on_platform(name)
            assert abs(taken - part) <= CENT
            after = e.order(pid)
            assert after["refunded"] == taken and Decimal(doc["refunded"]) == taken
            assert Decimal(doc["net"]) == total - taken
            assert after["rows"][0][3] == "crossdock" and after["audits"] == ["refunds.issue"]
            # ... and the sales report's net is the order's net
            revenue, refunded, net = e.net_in_report(name)
            assert (revenue, refunded, net) == (total, taken, total - taken)
            # ... and so do the console's order page and the orders export
            assert e.net_elsewhere(pid) == (taken, total - taken, 1, taken, total - taken)
            # An over-refund is refused before anything is sent, and nothing changes
            left = total - taken
            assert _code(lambda: issue_refund(e.ctx, pid, str(left + CENT), "other")) == "XD-REF-002"
            assert e.order(pid) == after and len(e.on_platform(name)) == 1
            # The full refund takes what is left
            issue_refund(e.ctx, pid, str(left), "buyer_return")
            done = e.order(pid)
            assert done["refunded"] == total == sum(e.on_platform(name))
            assert len(done["rows"]) == 2 and done["audits"] == ["refunds.issue"] * 2
            assert e.net_in_report(name) == (total, total, Decimal(0))
            assert e.net_elsewhere(pid) == (total, 0, 2, total, 0)
            # Nothing is left: even a cent is refused
            assert _code(lambda: issue_refund(e.ctx, pid, "0.01", "other")) == "XD-REF-002"
            with e.db.read() as s:
                trace = [x for x in synclog.trace(s, pid) if x.operation == "order.refund"]
            assert [x.outcome for x in trace] == ["ok", "failed", "ok", "failed"]
            assert trace[1].code == "XD-REF-002" and trace[0].correlation_id == synclog.order_correlation(name, pid)
        # Reading the platforms back (the import, then refunds pull) counts no refund twice
        e.import_all()
        pulled = pull_refunds(e.ctx)
        assert pulled["channels"]["amazon-us"]["readable"] is False
        for name in SUPPORTED:
            o = e.order(e.placed[name])
            assert o["refunded"] == o["total"] and len(o["rows"]) == 2
            assert {status for _, _, status, _ in o["rows"]} == {"refunded"}       # eBay's pending ones were paid
            assert {source for _, _, _, source in o["rows"]} == {"crossdock"}
        assert all(row["new"] == 0 for row in pulled["channels"].values())
        # refusals crossdock finds itself: amount, currency, lines, reason, order
        pid = e.placed["shopify-eu"]
        assert _code(lambda: issue_refund(e.ctx, pid, "0", "other")) == "XD-REF-001"
        assert _code(lambda: issue_refund(e.ctx, pid, "-3", "other")) == "XD-REF-001"
        assert _code(lambda: issue_refund(e.ctx, pid, "1.001", "other")) == "XD-REF-001"
        assert _code(lambda: issue_refund(e.ctx, pid, "1.00", "other", currency="JPY")) == "XD-REF-003"
        assert _code(lambda: issue_refund(e.ctx, pid, "1.00", "because")) == "XD-REF-006"
        assert _code(lambda: issue_refund(e.ctx, "no-such-order", "1.00", "other")) == "XD-ORD-005"


def test_refunds_made_on_the_platform_are_read_once(env):
    with Sandbox(time_scale=TIME_SCALE, seed=67) as sb:
        e = env(sb, seed=67)
        e.import_placed()
        for name in ("ebay-uk", "shopify-eu"):
            pid = e.placed[name]
            total = e.order(pid)["total"]
            cur = e.order(pid)["currency"]
            # Given a refund customer service made on the platform (not through crossdock)
            part = (total / 2).quantize(CENT)
            e.ctx.connectors.get(name).issue_refund(RefundRequest(pid, Money(part, cur), "damaged", total))
            assert e.order(pid)["rows"] == []
            # crossdock, not knowing it yet, asks for the whole total: the channel refuses, nothing recorded
            assert _code(lambda: issue_refund(e.ctx, pid, str(total), "other")) == "XD-REF-004"
            assert e.order(pid)["rows"] == [] and len(e.on_platform(name)) == 1
            # When crossdock reads the channel's refunds, twice
            first = pull_refunds(e.ctx, name)
            again = pull_refunds(e.ctx, name)
            # Then it is stored once, as the platform's, and counted in the order's net
            o = e.order(pid)
            [(_, amount, _, source)] = o["rows"]
            assert source == "platform" and abs(amount - part) <= CENT and o["refunded"] == amount
            assert first["channels"][name]["new"] == 1 and again["channels"][name]["new"] == 0
            # and the import reading the order again changes nothing
            e.import_all()
            assert e.order(pid)["rows"] == o["rows"] and e.order(pid)["refunded"] == amount
            # A refund of more than is left after it is refused by crossdock, nothing sent
            assert _code(lambda: issue_refund(e.ctx, pid, str(total - amount + CENT), "other")) == "XD-REF-002"
            assert len(e.on_platform(name)) == 1
        # Amazon: its refunds are not read (docs/refunds.md), and its processing report refuses what an item
        # no longer has: XD-REF-004, nothing recorded
        pid = e.placed["amazon-us"]
        total, cur = e.order(pid)["total"], e.order(pid)["currency"]
        half = Money((total / 2).quantize(CENT), cur)
        e.ctx.connectors.get("amazon-us").issue_refund(RefundRequest(pid, half, "damaged", total))
        assert pull_refunds(e.ctx, "amazon-us")["channels"]["amazon-us"]["readable"] is False
        assert _code(lambda: issue_refund(e.ctx, pid, str(total), "other")) == "XD-REF-004"
        assert e.order(pid)["rows"] == [] and len(e.on_platform("amazon-us")) == 1


def test_a_buyers_cancellation_refund_is_read_and_the_net_is_zero(env):
    with Sandbox(time_scale=TIME_SCALE, seed=73) as sb:
        e = env(sb, seed=73)
        e.import_placed()
        # Given a partial refund from crossdock, then the buyer cancels on each platform
        pid = e.placed["shopify-eu"]
        issue_refund(e.ctx, pid, "1.00", "price_adjustment")
        e.cancel_on_platform()
        # When the import reads the cancelled orders
        wait_ticking("the cancellations to be imported", lambda: all(
            e.orders()[e.placed[n]].local_status == "cancelled" for n in ("ebay-uk", "shopify-eu")), tick=e.import_all)
        # Then the refund each cancellation made (eBay, Shopify) is read: the order's net is 0, never below
        for name in ("ebay-uk", "shopify-eu"):
            o = e.order(e.placed[name])
            assert o["refunded"] == o["total"] and o["rows"][-1][3] == "platform"
        assert [r[1] for r in e.order(pid)["rows"]] == [Decimal("1.00"), e.order(pid)["total"] - 1]
        # (Amazon's cancellation before shipment charges nothing and the Orders API shows no refund)
        assert e.order(e.placed["amazon-us"])["rows"] == []


def test_refunds_through_the_cli(env):
    with Sandbox(time_scale=TIME_SCALE, seed=71) as sb:
        e = env(sb, seed=71)
        e.import_placed()
        pid = e.placed["ebay-uk"]
        sku = e.order(pid) and e.state(pid)["skus"][0]
        cfg = ("--config", str(e.config_path))
        ran = crossdock(*cfg, "--as", "alice", "refunds", "issue", pid, "--amount", "1.50", "--reason",
                        "damaged", "--lines", f"{sku}:1", "--json")
        assert ran.returncode == 0, ran.stderr
        assert ran.doc["refunded"] == "1.50" and ran.doc["status"] == "pending"
        [refund] = ran.doc["refunds"]
        assert refund["actor"] == "alice" and refund["lines"][0]["sku"] == sku and refund["lines"][0]["quantity"] == 1
        assert e.on_platform("ebay-uk") == [Decimal("1.50")]
        listed = crossdock(*cfg, "refunds", "list", pid, "--json")
        assert listed.returncode == 0 and listed.doc["refunds"] == ran.doc["refunds"]
        pulled = crossdock(*cfg, "refunds", "pull", "ebay-uk", "--json")
        assert pulled.returncode == 0, pulled.stderr
        assert pulled.doc["channels"]["ebay-uk"]["new"] == 0 and pulled.doc["channels"]["ebay-uk"]["changed"] == 1
        trace = crossdock(*cfg, "logs", "trace", pid, "--json")
        assert [ev["outcome"] for ev in trace.doc["events"] if ev["operation"] == "order.refund"] == ["ok", "ok"]
        # refusals: exit status not 0, the code on stderr, nothing changed
        over = crossdock(*cfg, "refunds", "issue", pid, "--amount", "100000", "--reason", "other")
        assert over.returncode != 0 and "XD-REF-002" in over.stderr
        bad = crossdock(*cfg, "refunds", "issue", pid, "--amount", "1", "--reason", "other", "--lines", "NOPE:1")
        assert bad.returncode != 0 and "XD-REF-007" in bad.stderr
        assert e.order(pid)["refunded"] == Decimal("1.50")


def test_a_refund_read_before_crossdock_recorded_it_is_one_refund(db):
    """The import may read a refund crossdock just issued before crossdock records it: the record then
    makes that row crossdock's (who, why), and the order counts it once."""
    import datetime as dt

    from crossdock.db.models import Channel
    from crossdock.models import PlatformRefund
    from crossdock.sync_engine.refund_rows import Origin, store_refunds

    at = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)
    with db.write() as s:
        s.add(Channel(name="shop", platform="shopify", account="a", currency="EUR"))
        s.add(Order(id=1, channel="shop", platform_order_id="1001", platform_status="PAID", local_status="unshipped",
                    purchased_at=at, platform_updated_at=at, currency="EUR", total_amount=Decimal("30.00"), flags=[]))
    refund = PlatformRefund("R1", Money(Decimal("12.00"), "EUR"), at)
    with db.write() as s:                   # Given the import read it first
        assert store_refunds(s, "shop", [(1, "1001", refund)])["new"]
    with db.write() as s:                   # When crossdock records the refund it issued
        stored = store_refunds(s, "shop", [(1, "1001", refund)], origin=Origin("crossdock", "alice", "damaged"))
    assert not stored["new"] and len(stored["changed"]) == 1
    with db.read() as s:                    # Then it is one refund, crossdock's, counted once
        [(source, actor, reason)] = s.execute(select(RefundRow.source, RefundRow.actor, RefundRow.reason)).all()
        assert (source, actor, reason) == ("crossdock", "alice", "damaged")
        assert s.scalar(select(Order.refunded_amount)) == Decimal("12.00")
    with db.write() as s:                   # and reading it again changes nothing
        assert store_refunds(s, "shop", [(1, "1001", refund)]) == {"new": [], "changed": []}
