"""``crossdock stock …`` and ``crossdock warehouse …`` as a person runs them:
the real entry point (in-process, tests/cli_run.py), a real configuration
file, real exit codes and stdout."""

from __future__ import annotations

import io
import json
import os
import socket
import time

import pytest
from pypdf import PdfReader

from crossdock import synclog
from crossdock.db.engine import Database
from tests.db_template import migrate
from tests.cli_run import crossdock
from tests.warehouse.db_support import OrderSpec, add_order, receive, seed_catalogue
from tests.warehouse.test_db_shipping import CapturingPrinter

CONFIG = """
[database]
url = "sqlite:///xd.sqlite"

[warehouses.CN]
name = "Shenzhen"
country = "CN"
bins = ["A-1-1", "A-1-2", "A-2-1", "A-10-1", "B-1-1"]
address = { name = "crossdock CN", line1 = "8 Keji Road", city = "Shenzhen", postal_code = "518057" }

[warehouses.DE]
name = "Leipzig"
country = "DE"
bins = ["R1-01", "R1-02", "R2-01"]
address = { name = "crossdock DE", line1 = "Lagerstrasse 4", city = "Leipzig", postal_code = "04109" }

[rules.routing]
by_destination = { DE = ["CN"] }

[sandbox.carrier]
seed = 11
time_scale = 200000          # one simulated hour every 18 ms: tracking moves while the test runs
"""


class _Cfg:
    rules = {"routing": {"by_destination": {"DE": ["CN"]}}}


def run(args, *, cwd):
    env = {k: None for k in os.environ if k.startswith("CROSSDOCK_") and k != "CROSSDOCK_SECRET_KEY"}
    proc = crossdock(*args, cwd=cwd, env=env)
    doc = json.loads(proc.stdout) if "--json" in args and proc.stdout.strip() else None
    return proc, doc


@pytest.fixture
def site(tmp_path):
    (tmp_path / "crossdock.toml").write_text(CONFIG)
    db = Database(f"sqlite:///{tmp_path / 'xd.sqlite'}")
    migrate(db)
    seed_catalogue(db)
    yield tmp_path, db
    db.dispose()


def test_stock_adjust_show_history_and_import(site):
    cwd, db = site
    proc, doc = run(["stock", "adjust", "TEE-BLK-M", "+12", "-w", "CN", "-r", "receive", "--bin", "A-1-2",
                     "--reference", "PO-9", "--json"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert (doc["on_hand"], doc["bin"], doc["available"]) == (12, "A-1-2", 12)
    proc, doc = run(["stock", "adjust", "TEE-BLK-M", "-2", "--warehouse", "CN", "--reason", "damage", "--json"],
                    cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert doc["on_hand"] == 10 and doc["delta"] == -2

    # a bad file: nothing applied, XD-WH-003 naming the line
    (cwd / "bad.csv").write_text("sku,warehouse,delta,reason\nMUG-WHT,DE,+4,receive\nMUG-WHT,DE,four,receive\n")
    proc, doc = run(["stock", "import", "bad.csv", "--json"], cwd=cwd)
    assert proc.returncode == 1 and doc["error"]["code"] == "XD-WH-003" and "line 3" in doc["error"]["detail"]
    (cwd / "good.csv").write_text("sku,warehouse,on_hand,bin\nMUG-WHT,DE,7,R2-01\n")
    proc, doc = run(["stock", "import", "good.csv", "--reason", "count", "--json"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert doc["applied"] == 1

    proc, doc = run(["stock", "show", "--json"], cwd=cwd)
    assert proc.returncode == 0
    assert [(r["sku"], r["warehouse"], r["bin"], r["on_hand"], r["available"]) for r in doc["levels"]] == [
        ("MUG-WHT", "DE", "R2-01", 7, 7), ("TEE-BLK-M", "CN", "A-1-2", 10, 10)]
    assert {t["sku"]: t["on_hand"] for t in doc["totals"]} == {"MUG-WHT": 7, "TEE-BLK-M": 10}

    proc, doc = run(["stock", "history", "--json"], cwd=cwd)
    assert [(m["sku"], m["delta"], m["reason"], m["reference"]) for m in doc] == [
        ("MUG-WHT", 7, "count", "good.csv:2"), ("TEE-BLK-M", -2, "damage", None),
        ("TEE-BLK-M", 12, "receive", "PO-9")]
    assert doc[0]["actor"].startswith("cli")

    proc, _ = run(["stock", "adjust", "TEE-BLK-M", "-50", "-w", "CN", "-r", "count"], cwd=cwd)
    assert proc.returncode == 1 and "XD-INV-005" in proc.stderr and "Traceback" not in proc.stderr


def test_picklist_ship_print_and_trace(site):
    cwd, db = site
    receive(db, "TEE-BLK-M", "CN", 10, bin_code="A-10-1")
    receive(db, "MUG-WHT", "CN", 10, bin_code="A-2-1")
    add_order(db, OrderSpec("302-1111111-1111111", buyer="DE",
                            lines=[("TEE-BLK-M", 2, "20.00"), ("MUG-WHT", 1, "9.90")],
                            tax_model="MarketplaceFacilitator", ioss_number="IM2760000742"), cfg=_Cfg())
    add_order(db, OrderSpec("302-2222222-2222222", buyer="US"), cfg=_Cfg())

    # pick list for CN, as PDF too
    proc, doc = run(["warehouse", "picklist", "--warehouse", "CN", "--pdf", "out/pick.pdf", "--json"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    (pl,) = doc["picklists"]
    assert [(r["bin"], r["sku"], r["quantity"]) for r in pl["rows"]] == [("A-2-1", "MUG-WHT", 1),
                                                                          ("A-10-1", "TEE-BLK-M", 3)]
    text = PdfReader(io.BytesIO((cwd / "out" / "pick.pdf").read_bytes())).pages[0].extract_text()
    assert text.index("A-2-1") < text.index("A-10-1") and pl["batch_id"] in text

    # ship the first with a manual carrier, label raw to a socket printer
    printer = CapturingPrinter()
    proc, doc = run(["warehouse", "ship", "302-1111111-1111111", "--carrier", "dhl", "--tracking", "JD014600006281",
                     "--printer", f"127.0.0.1:{printer.port}", "--json"], cwd=cwd)
    received = printer.close()
    assert proc.returncode == 0, proc.stderr
    assert doc["tracking_number"] == "JD014600006281" and doc["carrier"] == "dhl"
    assert doc["customs"]["form"] == "CN22" and doc["customs"]["ioss_number"] == "IM2760000742"
    assert received == (cwd / doc["label_paths"]["zpl203"]).read_bytes() and doc["printed_bytes"] == len(received)
    assert (cwd / "labels" / "JD014600006281.pdf").exists()        # Config.labels_dir, relative to here

    proc, doc = run(["warehouse", "ship", "302-1111111-1111111", "--carrier", "dhl", "--tracking",
                     "JD014600006282", "--json"], cwd=cwd)
    assert proc.returncode == 1 and doc["error"]["code"] == "XD-SHIP-005"

    # ship the second with the sandbox carrier, then follow it
    proc, doc = run(["warehouse", "ship", "302-2222222-2222222", "--json"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert doc["carrier"] == "sandbox" and doc["cross_border"] is True
    time.sleep(0.5)                                               # > 24 simulated hours
    proc, doc = run(["warehouse", "track", "--json"], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert doc["checked"] == 1 and doc["new_events"] >= 3 and doc["skipped"] == 1

    proc, doc = run(["logs", "trace", "302-2222222-2222222", "--json"], cwd=cwd)
    ops = [e["operation"] for e in doc["events"]]
    assert ops[0] == "orders.import"
    for earlier, later in [("orders.import", "stock.reserve"), ("stock.reserve", "label.create"),
                           ("label.create", "shipment.confirm.queued"), ("shipment.confirm.queued", "tracking.event")]:
        assert ops.index(earlier) < ops.index(later)
    assert len({e["correlation_id"] for e in doc["events"]}) == 1
    with db.read() as s:
        first = [(e.operation, e.outcome, e.code) for e in synclog.trace(s, "302-1111111-1111111")]
    assert ("label.print", "ok", None) in first and first[-1] == ("shipment.create", "skipped", "XD-SHIP-005")


def test_picklist_pdf_needs_one_warehouse_and_human_output_works(site):
    cwd, db = site
    receive(db, "TEE-BLK-M", "CN", 5, bin_code="A-1-1")
    receive(db, "TEE-BLK-M", "DE", 5, bin_code="R1-01")
    add_order(db, OrderSpec("US-1", buyer="US"))
    add_order(db, OrderSpec("FR-1", buyer="FR"))
    proc, doc = run(["warehouse", "picklist", "--pdf", "pick.pdf", "--json"], cwd=cwd)
    assert proc.returncode == 2 and doc["error"]["code"] == "XD-CFG-009"
    assert not (cwd / "pick.pdf").exists()
    proc, _ = run(["warehouse", "picklist"], cwd=cwd)
    assert proc.returncode == 0 and "A-1-1" in proc.stdout and "R1-01" in proc.stdout
    proc, doc = run(["warehouse", "reserve", "--json"], cwd=cwd)
    assert [(o["platform_order_id"], o["fully_reserved"], o["lines"][0]["warehouse"]) for o in doc] == [
        ("US-1", True, "CN"), ("FR-1", True, "DE")]
    proc, doc = run(["warehouse", "list", "--json"], cwd=cwd)
    assert [(w["code"], w["country"], len(w["bins"])) for w in doc] == [("CN", "CN", 5), ("DE", "DE", 3)]
    proc, doc = run(["warehouse", "picklist", "--warehouse", "XX", "--json"], cwd=cwd)
    assert proc.returncode == 1 and doc["error"]["code"] == "XD-WH-001"
    # a dead printer: the order is shipped anyway, the exit status says "partly done"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc, doc = run(["warehouse", "ship", "US-1", "--printer", f"127.0.0.1:{port}", "--json"], cwd=cwd)
    assert proc.returncode == 4 and doc["print_error"]["code"] == "XD-SHIP-006" and doc["shipment_id"]
    assert "reprint" in proc.stderr
