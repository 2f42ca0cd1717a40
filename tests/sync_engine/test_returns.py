"""Returns (RMAs, issue 18) against the sandbox, on SQLite and PostgreSQL.

Per platform, an order of 2 x A and 1 x B is imported, shipped from the
warehouse (``warehouse ship``) and confirmed to its channel. Then:

- the seller opens a return of one A (``returns open``) and receives it with
  ``--restock``: A's on hand and available go up by one, the order is
  partially returned, and the stock push that follows shows A on every
  channel as crossdock computes it;
- a return the buyer opened on the platform (Shopify, eBay; Amazon's returns
  report) is read by ``returns pull`` once, however often it runs, and
  received with ``--write-off``: no stock changes;
- refusals carry their codes and change nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crossdock import config as config_mod
from crossdock import synclog
from crossdock.audit import AuditRow
from crossdock.db.models import Order, OrderLine, Reservation, StockLevel
from crossdock.db.models_returns import ReturnRow
from crossdock.demo import DemoOptions, _load_sample_rates, _sandbox_channels, _seed, _write_config
from crossdock.sandbox.core import Sandbox
from crossdock.sync_engine import dirty, jobs
from crossdock.sync_engine.engine import context_from_config
from crossdock.sync_engine.jobs.stock import expected_quantities
from crossdock.sync_engine.returns import open_return, receive_return
from crossdock.sync_engine.returns_pull import pull_returns
from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
from crossdock.warehouse.operations import ship
from tests.cli_run import crossdock
from tests.sync_engine.support import made_envs, raised_code, wait_ticking

pytestmark = pytest.mark.usefixtures("quota_waits_slept")

NAMES = ("amazon-us", "ebay-uk", "shopify-eu")
TIME_SCALE = 120.0


class Env:
    def __init__(self, tmp_path: Path, monkeypatch, sb: Sandbox, db, *, seed: int) -> None:
        self.sb, self.db = sb, db
        opts = DemoOptions(skus=6, time_scale=TIME_SCALE, seed=seed, folder=tmp_path, database_url=db.url)
        secrets: dict[str, str] = {}
        self.config_path = _write_config(tmp_path, sb.describe(), opts, secrets)
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        self.cfg = config_mod.load(self.config_path, env={})
        self.cfg.sandbox["carrier"]["failure_rate"] = 0.0
        self.channels = _sandbox_channels(sb.describe())
        _seed(db, sb, self.cfg, opts, self.channels)
        _load_sample_rates(db, sb.clock.now().date())
        self.ctx = context_from_config(self.cfg, db)
        sb.sims["shopify"].pending_payment_probability = 0.0

    def close(self) -> None:
        self.ctx.connectors.close()
        dirty.set_window_s(dirty.DEFAULT_WINDOW_S)

    def place(self, name: str) -> tuple[str, str, str]:
        """An order of 2 x A and 1 x B on ``name``: (order id, A, B)."""
        sim = self.sb.sims[name.split("-")[0]]
        listed = sorted(sku for sku, q in sim.listed(self.channels[name]).items() if q >= 2)
        oid = sim.place_order(self.channels[name], [(listed[0], 2), (listed[1], 1)], buyer_country="DE")
        assert oid, name
        return str(oid), listed[0], listed[1]

    def ship_all(self, names, pids) -> None:
        """Import until stored and unshipped, ship each from the warehouse, confirm it to its channel."""
        def ready() -> bool:
            with self.db.read() as s:
                return set(s.scalars(select(Order.platform_order_id).where(Order.local_status == "unshipped"))) >= pids

        wait_ticking("the orders imported and unshipped", ready,
                     tick=lambda: [jobs.import_orders(self.ctx, n) for n in names], timeout_s=60)
        for pid in pids:
            for lines in self.parcels(pid):
                ship(self.db, self.cfg, pid, ledger=ENGINE_LEDGER, lines=lines)
        assert set(jobs.claim_and_process(self.ctx, kinds=["confirm_shipment"], limit=20)) == {"done"}

    def parcels(self, pid: str) -> list[str | None]:
        """One parcel per warehouse the order's units are reserved in (``--lines``)."""
        with self.db.read() as s:
            held: dict[str, list[str]] = {}
            for sku, wh, qty in s.execute(
                    select(OrderLine.sku, Reservation.warehouse, Reservation.quantity)
                    .join(Reservation, Reservation.order_line_id == OrderLine.id).join(Order, Order.id == OrderLine.order_id)
                    .where(Order.platform_order_id == pid, Reservation.status == "active")):
                held.setdefault(wh, []).append(f"{sku}:{qty}")
        if len(held) == 1:
            return [None]           # one parcel of everything (a bundle's reservations are its components')
        return [",".join(v) for _, v in sorted(held.items())]

    def stock(self, sku: str) -> tuple[int, int]:
        with self.db.read() as s:
            rows = list(s.scalars(select(StockLevel).where(StockLevel.sku == sku)))
        return sum(r.on_hand for r in rows), sum(r.on_hand - r.reserved for r in rows)

    def order(self, pid: str) -> str:
        with self.db.read() as s:
            return s.scalar(select(Order.local_status).where(Order.platform_order_id == pid))

    def rmas(self, pid: str) -> list[tuple[str, str, str, str | None]]:
        with self.db.read() as s:
            oid = s.scalar(select(Order.id).where(Order.platform_order_id == pid))
            return [(r.rma, r.origin, r.status, r.platform_return_id)
                    for r in s.scalars(select(ReturnRow).where(ReturnRow.order_id == oid).order_by(ReturnRow.id))]

    def marked(self) -> set[str]:
        with self.db.read() as s:
            return {sku for _, sku in s.execute(select(dirty.DIRTY.c.channel, dirty.DIRTY.c.sku))}

    def unmark(self) -> None:
        with self.db.write() as s:
            s.execute(dirty.DIRTY.delete())

    def audits(self, pid: str) -> list[tuple[str, dict[str, Any]]]:
        with self.db.read() as s:
            return [(a.action, a.after) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))
                    if a.subject.endswith("/" + pid) and a.action.startswith("returns.")]

    def pushed_as_computed(self, skus: list[str]) -> None:
        """The stock push that follows shows the SKUs on every channel as crossdock computes them."""
        sims = self.sb.all_channels()
        for name in NAMES:
            jobs.push_stock(self.ctx, name)
            want = expected_quantities(self.ctx, name, skus)
            listed = sims[self.channels[name]].listed(self.channels[name])
            assert want and {sku: listed.get(sku) for sku in want} == want, name


@pytest.fixture
def env(tmp_path, monkeypatch, db):
    yield from made_envs(Env, tmp_path, monkeypatch, db)


_code = raised_code


def test_seller_opens_and_receives_returns_restock_and_write_off(env):
    with Sandbox(time_scale=TIME_SCALE, seed=61) as sb:
        e = env(sb, seed=61)
        placed = {name: e.place(name) for name in NAMES}
        e.ship_all(NAMES, {pid for pid, _, _ in placed.values()})
        for name, (pid, a, b) in placed.items():
            assert e.order(pid) == "shipped", name
            e.unmark()
            # When the seller opens a return of one A and receives it back to stock
            doc = open_return(e.ctx, pid, f"{a}:1", "damaged")
            assert doc["lines"] == {a: 1} and doc["status"] == "open"
            assert (doc["platform_return_id"] is not None) == (name == "shopify-eu"), name
            on_hand, available = e.stock(a)
            got = receive_return(e.ctx, doc["rma"], restock=True)
            # Then A is back on hand and available, marked for a push, and the order is partially returned
            assert e.stock(a) == (on_hand + 1, available + 1), name
            assert a in e.marked() and got["marked_skus"] == [a]
            assert e.order(pid) == "partially_returned" and got["order_status"] == "partially_returned"
            # When B comes back written off: no stock change, nothing marked
            e.unmark()
            before_b = e.stock(b)
            off = open_return(e.ctx, pid, [(b, 1)], "defective")
            receive_return(e.ctx, off["rma"], restock=False)
            assert e.stock(b) == before_b and b not in e.marked()
            assert e.order(pid) == "partially_returned"
            # and the last A, restocked: every unit came back, the order is returned
            last = open_return(e.ctx, pid, f"{a}:1", "unwanted")
            receive_return(e.ctx, last["rma"], restock=True)
            assert e.order(pid) == "returned" and e.stock(a) == (on_hand + 2, available + 2)
            # the returns are on the order's chain and in the audit log
            with e.db.read() as s:
                ops = [(x.operation, x.outcome) for x in synclog.trace(s, pid) if x.operation.startswith("return.")]
            assert ops.count(("return.open", "ok")) == 3 and ops.count(("return.receive", "ok")) == 3, ops
            assert [act for act, _ in e.audits(pid)] == ["returns.open", "returns.receive"] * 3
            # and a further import does not take the order back to shipped
            jobs.import_orders(e.ctx, name)
            assert e.order(pid) == "returned", name
            # nor does reading the platform's returns add the seller's own again (Shopify holds them too)
            assert pull_returns(e.ctx, name)["new"] == [], name
        e.pushed_as_computed(sorted({a for _, a, _ in placed.values()}))


def test_refusals_carry_their_codes_and_change_nothing(env):
    with Sandbox(time_scale=TIME_SCALE, seed=67) as sb:
        e = env(sb, seed=67)
        name = "ebay-uk"
        pid, a, b = e.place(name)
        unshipped, _, _ = e.place("shopify-eu")
        e.ship_all((name, "shopify-eu"), {pid})
        # nothing shipped yet on the second order
        wait_ticking("the second order imported", lambda: e.order(unshipped) == "unshipped",
                     tick=lambda: jobs.import_orders(e.ctx, "shopify-eu"))
        before = (e.rmas(pid), e.stock(a), e.order(pid))
        assert _code(lambda: open_return(e.ctx, pid, f"{a}:3", "damaged")) == "XD-RMA-002"
        assert _code(lambda: open_return(e.ctx, unshipped, f"{a}:1", "damaged")) == "XD-RMA-002"
        assert _code(lambda: open_return(e.ctx, pid, "NOPE:1", "damaged")) == "XD-RMA-001"
        assert _code(lambda: open_return(e.ctx, pid, f"{a}:0", "damaged")) == "XD-RMA-001"
        assert _code(lambda: open_return(e.ctx, pid, f"{a}", "damaged")) == "XD-RMA-001"
        assert _code(lambda: open_return(e.ctx, pid, f"{a}:1", "because")) == "XD-RMA-003"
        assert _code(lambda: open_return(e.ctx, "no-such-order", f"{a}:1", "damaged")) == "XD-ORD-005"
        assert _code(lambda: receive_return(e.ctx, "RMA-999999")) == "XD-RMA-004"
        # an Amazon-fulfilled (FBA) order, stored as the import stores one: its returns are Amazon's
        from crossdock.models import OrderStatus
        from crossdock.sync_engine import orders
        from tests.sync_engine.support import order as platform_order

        afn = platform_order("AFN-1", [(a, 1)], status=OrderStatus.SHIPPED, platform="amazon",
                             platform_status="Shipped", fulfillment_channel="AFN")
        with e.db.write() as s:
            orders.upsert_orders(s, "amazon-us", [afn])
        assert _code(lambda: open_return(e.ctx, "AFN-1", f"{a}:1", "damaged")) == "XD-RMA-009"
        assert e.rmas("AFN-1") == []
        assert (e.rmas(pid), e.stock(a), e.order(pid)) == before
        # a return holds its units: a second one for more than is left is refused
        doc = open_return(e.ctx, pid, f"{a}:2", "wrong_item")
        assert _code(lambda: open_return(e.ctx, pid, f"{a}:1", "damaged")) == "XD-RMA-002"
        # an unclear receipt, then a receipt twice
        assert _code(lambda: receive_return(e.ctx, doc["rma"], restock=True, write_off={b: 1})) == "XD-RMA-007"
        assert _code(lambda: receive_return(e.ctx, doc["rma"], restock=False, write_off={a: 1})) == "XD-RMA-007"
        got = receive_return(e.ctx, doc["rma"], restock=True, write_off={a: 1})
        assert got["restocked"] and sum(got["restocked"].values()) == 1 and got["written_off"] == {a: 1}
        after = e.stock(a)
        assert _code(lambda: receive_return(e.ctx, doc["rma"], restock=True)) == "XD-RMA-005"
        assert e.stock(a) == after
        with e.db.read() as s:
            failed = [x.code for x in synclog.trace(s, pid) if x.operation.startswith("return.") and x.outcome != "ok"]
        assert "XD-RMA-002" in failed and "XD-RMA-005" in failed


def _buyer_returns(sb: Sandbox, e: Env, name: str, pid: str, a: str, b: str) -> tuple[str, str]:
    """The buyer opens two returns on the platform: 2 x A (damaged), 1 x B (unwanted). Their platform ids."""
    from crossdock.sandbox.amazon.reports import open_buyer_return as amazon_return
    from crossdock.sandbox.ebay.returns import open_buyer_return as ebay_return
    from crossdock.sandbox.shopify.returns import request_return

    channel = e.channels[name]
    if name.startswith("ebay"):
        return (ebay_return(sb.sims["ebay"], channel, pid, a, 2, "ARRIVED_DAMAGED"),
                ebay_return(sb.sims["ebay"], channel, pid, b, 1, "NO_LONGER_NEED_ITEM"))
    if name.startswith("shopify"):
        return (request_return(sb.sims["shopify"], channel, pid, a, 2, "DEFECTIVE"),
                request_return(sb.sims["shopify"], channel, pid, b, 1, "UNWANTED"))
    return (amazon_return(sb.sims["amazon"], pid, a, 2, "DAMAGED_BY_CARRIER"),
            amazon_return(sb.sims["amazon"], pid, b, 1, "UNWANTED_ITEM"))


def _received_on_platform(sb: Sandbox, e: Env, name: str, rid: str) -> bool | None:
    """Whether the platform shows the return received (None: Amazon has no such state for the seller)."""
    if name.startswith("ebay"):
        acct = sb.sims["ebay"].account_for_channel(e.channels[name])
        return sb.sims["ebay"].post_order_returns[acct.username][rid]["status"] == "ITEM_RECEIVED"
    if name.startswith("shopify"):
        from crossdock.sandbox.shopify.returns import store

        shop = sb.sims["shopify"]._shop_of(e.channels[name])
        return store(shop).returns[int(rid)].status == "CLOSED"
    return None


def _close_on_platform(sb: Sandbox, e: Env, name: str, rid: str) -> None:
    from crossdock.sandbox.ebay.returns import close_buyer_return
    from crossdock.sandbox.shopify.returns import decline

    if name.startswith("ebay"):
        close_buyer_return(sb.sims["ebay"], e.channels[name], rid)
    else:
        decline(sb.sims["shopify"], e.channels[name], rid)


def test_buyer_returns_are_pulled_once_and_received(env):
    with Sandbox(time_scale=TIME_SCALE, seed=71) as sb:
        e = env(sb, seed=71)
        placed = {name: e.place(name) for name in NAMES}
        e.ship_all(NAMES, {pid for pid, _, _ in placed.values()})
        for name, (pid, a, b) in placed.items():
            damaged, unwanted = _buyer_returns(sb, e, name, pid, a, b)
            # When the returns are pulled, twice
            first = pull_returns(e.ctx, name)
            again = pull_returns(e.ctx, name)
            assert len(first["new"]) == 2 and again["new"] == [] and again["changed"] == [], (name, first, again)
            rmas = e.rmas(pid)
            assert sorted(r[3] for r in rmas) == sorted([damaged, unwanted]), name
            assert {r[1] for r in rmas} == {"platform"} and {r[2] for r in rmas} == {"open"}, name
            shown = crossdock_doc(e, "returns", "show", next(r[0] for r in rmas if r[3] == damaged))
            assert shown["units"] == {a: 2} and shown["reason"] in ("damaged", "defective"), (name, shown)
            # Then receiving the damaged units written off changes no stock and tells the platform where it can
            rma = next(r[0] for r in rmas if r[3] == damaged)
            e.unmark()
            before = e.stock(a)
            receive_return(e.ctx, rma, restock=False)
            assert e.stock(a) == before and a not in e.marked() and e.order(pid) == "partially_returned", name
            assert _received_on_platform(sb, e, name, damaged) in (True, None), name
            # the other is received back to stock: every unit came back, and the push shows B again
            other = next(r[0] for r in rmas if r[3] == unwanted)
            if name.startswith("amazon"):
                receive_return(e.ctx, other, restock=True)
                assert e.order(pid) == "returned" and b in e.marked()
                continue
            # on eBay and Shopify the buyer closes it instead: the next pull closes the RMA
            _close_on_platform(sb, e, name, unwanted)
            assert other in pull_returns(e.ctx, name)["changed"], name
            assert sorted(r[2] for r in e.rmas(pid)) == ["closed", "received"], name
            assert receive_return and _code(lambda: receive_return(e.ctx, other)) == "XD-RMA-005"
        e.pushed_as_computed(sorted({b for _, _, b in placed.values()}))


def crossdock_doc(e: Env, *args: str) -> Any:
    ran = crossdock("--config", str(e.config_path), *args, "--json")
    assert ran.returncode == 0, ran.stderr
    return ran.doc


def test_returns_through_the_cli(env):
    with Sandbox(time_scale=TIME_SCALE, seed=73) as sb:
        e = env(sb, seed=73)
        pid, a, _ = e.place("ebay-uk")
        e.ship_all(("ebay-uk",), {pid})
        cfg = ("--config", str(e.config_path))
        ran = crossdock(*cfg, "--as", "alice", "returns", "open", pid, "--lines", f"{a}:1", "--reason", "damaged",
                        "--json")
        assert ran.returncode == 0, ran.stderr
        rma = ran.doc["rma"]
        listed = crossdock(*cfg, "returns", "list", "--status", "open", "--json")
        assert [r["rma"] for r in listed.doc] == [rma]
        got = crossdock(*cfg, "--as", "bob", "returns", "receive", rma, "--restock", "--json")
        assert got.returncode == 0, got.stderr
        assert got.doc["order_status"] == "partially_returned"
        shown = crossdock(*cfg, "returns", "show", rma, "--json")
        assert shown.doc["received_by"] == "bob" and shown.doc["opened_by"] == "alice"
        assert [ln["disposition"] for ln in shown.doc["lines"]] == ["restock"]
        moves = crossdock(*cfg, "stock", "history", a, "--json")
        assert [(m["delta"], m["reason"], m["reference"]) for m in moves.doc if m["reason"] == "return"] == \
            [(1, "return", rma)], moves.doc
        again = crossdock(*cfg, "returns", "receive", rma, "--write-off")
        assert again.returncode != 0 and "XD-RMA-005" in again.stderr
        both = crossdock(*cfg, "returns", "receive", rma, "--write-off", "--restock")
        assert both.returncode != 0 and "XD-RMA-007" in both.stderr
        trace = crossdock(*cfg, "logs", "trace", pid, "--json")
        ops = [(ev["operation"], ev["outcome"]) for ev in trace.doc["events"] if ev["operation"].startswith("return.")]
        assert ops == [("return.open", "ok"), ("return.receive", "ok"), ("return.receive", "failed")], ops
        pulled = crossdock(*cfg, "returns", "pull", "ebay-uk", "--json")
        assert pulled.returncode == 0, pulled.stderr
        assert pulled.doc["channels"][0]["new"] == []
        # and for a person: a table, the return's lines, a summary per channel
        plain = [crossdock(*cfg, "returns", *args) for args in (("list",), ("show", rma), ("pull",))]
        assert all(r.returncode == 0 for r in plain), [r.stderr for r in plain]
        assert rma in plain[0].stdout and f"{a} x1  restock" in plain[1].stdout and "ebay-uk: " in plain[2].stdout
        bad = crossdock(*cfg, "returns", "list", "--status", "lost")
        assert bad.returncode != 0 and "XD-CFG-009" in bad.stderr


def test_an_order_units_came_back_from_keeps_its_status_against_a_platform_still_showing_it_shipped():
    from crossdock.sync_engine.orders import merge_status
    from crossdock.sync_engine.returns import order_status_after

    assert merge_status("partially_returned", "shipped") == "partially_returned"
    assert merge_status("returned", "delivered") == "returned"
    assert merge_status("partially_returned", "returned") == "returned"       # the platform says all came back
    assert merge_status("partially_returned", "cancelled") == "cancelled"
    assert order_status_after("shipped", [{"quantity": 2, "back": 1}, {"quantity": 1, "back": 0}]) == \
        "partially_returned"
    assert order_status_after("delivered", [{"quantity": 2, "back": 2}, {"quantity": 1, "back": 1}]) == "returned"
    assert order_status_after("partially_shipped", [{"quantity": 2, "back": 1}]) == "partially_shipped"


def test_the_worker_reads_the_returns_on_its_schedule(env):
    from crossdock.db.models import Schedule
    from crossdock.sandbox.ebay.returns import open_buyer_return
    from crossdock.sync_engine import scheduler
    from crossdock.sync_engine.engine import Engine, enqueue_unless_queued, schedule_specs

    with Sandbox(time_scale=TIME_SCALE, seed=79) as sb:
        e = env(sb, seed=79)
        specs = {s.name: s for s in schedule_specs(e.cfg) if s.job == "returns"}
        assert set(specs) == {f"returns:{n}" for n in e.cfg.channels}
        assert all(s.enabled and s.interval_s == 3600 for s in specs.values())
        pid, a, _ = e.place("ebay-uk")
        e.ship_all(("ebay-uk",), {pid})
        rid = open_buyer_return(sb.sims["ebay"], e.channels["ebay-uk"], pid, a, 1, "WRONG_SIZE")
        # When the schedules fire (as `crossdock worker`'s scheduler loop does) and a worker runs the entries
        engine = Engine(e.ctx)
        engine.ensure_schedules()
        with e.db.read() as s:
            assert s.get(Schedule, "returns:ebay-uk").enabled
        fired = scheduler.fire_due(e.db, now=engine.ctx.clock.now(), enqueue_fn=enqueue_unless_queued)
        assert {f.channel for f in fired if f.job == "returns"} == set(e.cfg.channels)
        outcomes = jobs.claim_and_process(engine.ctx, kinds=["returns"], limit=10)
        # Then every entry is done and the buyer's return is an RMA
        assert outcomes and set(outcomes) == {"done"}
        [(rma, origin, status, platform_id)] = e.rmas(pid)
        assert (origin, status, platform_id) == ("platform", "open", rid)


def test_a_platform_refusal_is_xd_rma_006_and_changes_nothing(env):
    from crossdock.sandbox.ebay.returns import close_buyer_return, open_buyer_return
    from crossdock.sandbox.shopify.returns import request_return

    with Sandbox(time_scale=TIME_SCALE, seed=83) as sb:
        e = env(sb, seed=83)
        placed = {name: e.place(name) for name in ("ebay-uk", "shopify-eu")}
        e.ship_all(tuple(placed), {pid for pid, _, _ in placed.values()})
        # Given the Shopify buyer already asked to return both A (crossdock has not read it yet)
        pid, a, _ = placed["shopify-eu"]
        request_return(sb.sims["shopify"], e.channels["shopify-eu"], pid, a, 2, "UNWANTED")
        before = (e.rmas(pid), e.stock(a), e.order(pid))
        # When the seller opens a return of one A, Shopify refuses: no unit of it is left to return there
        assert _code(lambda: open_return(e.ctx, pid, f"{a}:1", "damaged")) == "XD-RMA-006"
        assert (e.rmas(pid), e.stock(a), e.order(pid)) == before
        # Given an eBay return the buyer closed after crossdock read it
        pid, a, _ = placed["ebay-uk"]
        rid = open_buyer_return(sb.sims["ebay"], e.channels["ebay-uk"], pid, a, 1, "DEFECTIVE_ITEM")
        [rma] = pull_returns(e.ctx, "ebay-uk")["new"]
        close_buyer_return(sb.sims["ebay"], e.channels["ebay-uk"], rid)
        before = (e.rmas(pid), e.stock(a), e.order(pid))
        # When it is received, eBay refuses mark_as_received: nothing restocked, the RMA still open
        assert _code(lambda: receive_return(e.ctx, rma, restock=True)) == "XD-RMA-006"
        assert (e.rmas(pid), e.stock(a), e.order(pid)) == before
        with e.db.read() as s:
            failed = [(x.operation, x.code) for x in synclog.trace(s, pid) if x.outcome != "ok"]
        assert ("return.receive", "XD-RMA-006") in failed


def test_a_returned_bundle_goes_back_to_stock_as_its_components(env):
    from decimal import Decimal

    from crossdock.catalog import kits
    from crossdock.db.models import Product

    with Sandbox(time_scale=TIME_SCALE, seed=89) as sb:
        e = env(sb, seed=89)
        name = "amazon-us"
        sim = sb.sims["amazon"]
        listed = sorted(sku for sku, q in sim.listed(e.channels[name]).items() if q >= 4)
        one, two = listed[0], listed[1]
        # Given a kit of 1 x ONE and 2 x TWO, listed on Amazon, sold once, shipped from the warehouse
        with e.db.write() as s:
            s.add(Product(sku="KIT-1", title="Kit", base_price=Decimal("30"), base_currency="EUR"))
            s.flush()
            kits.set_bundle(s, "KIT-1", {one: 1, two: 2})
        sim.set_listing(e.channels[name], "KIT-1", 3, Decimal("30"))
        pid = str(sim.place_order(e.channels[name], [("KIT-1", 1)], buyer_country="DE"))
        e.ship_all((name,), {pid})
        before = {sku: e.stock(sku) for sku in (one, two)}
        e.unmark()
        # When the kit comes back and is restocked
        doc = open_return(e.ctx, pid, "KIT-1:1", "unwanted")
        got = receive_return(e.ctx, doc["rma"], restock=True)
        # Then its components are back on hand, each where it shipped from, and marked for a push
        assert {sku: e.stock(sku) for sku in (one, two)} == {
            one: (before[one][0] + 1, before[one][1] + 1), two: (before[two][0] + 2, before[two][1] + 2)}
        assert sorted(got["marked_skus"]) == sorted([one, two]) and {one, two} <= e.marked()
        assert e.order(pid) == "returned"
