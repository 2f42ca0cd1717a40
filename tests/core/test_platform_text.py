"""Platform data (SKUs, titles, order ids, messages) cannot forge a log line or
move the cursor: control characters and newlines show as escapes in the log
line, in ``crossdock logs`` and in the terminal tables (issue 19 §6)."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from crossdock import synclog
from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import upgrade
from tests.cli_run import crossdock

# a SKU as a platform might send it: a carriage return, a newline starting a forged log line, clear-screen
EVIL_SKU = "MUG-1\r\n2026-12-06 10:00:00 INFO crossdock: forged\x1b[2J"
ESCAPED_SKU = "MUG-1\\r\\n2026-12-06 10:00:00 INFO crossdock: forged\\x1b[2J"
EVIL_TITLE = "Mug\x1b[31m red\nsecond line"


def _database(folder) -> Database:
    (folder / "crossdock.toml").write_text('[database]\nurl = "sqlite:///x.sqlite"\n', encoding="utf-8")
    db = Database(f"sqlite:///{folder / 'x.sqlite'}")
    upgrade(db)
    return db


def test_crossdock_logs_shows_a_sku_with_control_characters_escaped(tmp_path):
    db = _database(tmp_path)
    synclog.record_now(db, operation="stock.push", outcome="failed", channel="shop", entity_type="sku",
                       entity=EVIL_SKU, code="XD-PLATFORM-001", message=f"{EVIL_SKU} refused: {EVIL_TITLE}")
    db.dispose()
    shown = crossdock("logs", cwd=tmp_path, env={"COLUMNS": "400"})
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\r" not in shown.stdout
    assert "\\x1b[2J" in shown.stdout and "\\r\\n2026-12-06" in shown.stdout
    assert not any(line.lstrip("│ ").startswith("2026-12-06 10:00:00 INFO") for line in shown.stdout.splitlines())


def test_the_stock_table_shows_sku_and_title_escaped(tmp_path):
    db = _database(tmp_path)
    with db.write() as s:
        s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        s.add(m.Product(sku=EVIL_SKU, title=EVIL_TITLE))
        s.flush()
        s.add(m.StockLevel(sku=EVIL_SKU, warehouse="DE", bin="A-01", on_hand=3))
    db.dispose()
    shown = crossdock("stock", "show", cwd=tmp_path, env={"COLUMNS": "400"})
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\r" not in shown.stdout
    assert ESCAPED_SKU in shown.stdout and "Mug\\x1b[31m red\\nsecond line"[:40] in shown.stdout


def test_the_reconcile_report_shows_drifted_skus_escaped():
    from crossdock.cli.sync import _print_reconcile

    buffer = io.StringIO()
    out = Console(file=buffer, width=400, force_terminal=False)
    _print_reconcile(out, "shop", {
        "checked": 1, "drift": [{"sku": EVIL_SKU, "expected": 3, "listed": 5}], "repaired": 0,
        "prices_checked": 1, "price_drift": [{"sku": EVIL_SKU, "expected": "9.99", "currency": "EUR",
                                               "listed": "8.99", "listed_currency": "EUR"}],
        "prices_repaired": 0, "price_problems": [{"sku": EVIL_SKU, "code": "XD-MAP-001", "message": EVIL_TITLE}]})
    text = buffer.getvalue()
    assert "\x1b" not in text and "\r" not in text
    assert f"  {ESCAPED_SKU}: expected 3, listed 5" in text.splitlines()
    assert not any(line.startswith("2026-12-06") for line in text.splitlines())


def test_the_python_log_line_of_a_sync_event_stays_one_line_under_any_formatter(tmp_path):
    # Given a program that runs crossdock with its own logging set up (a plain formatter, not crossdock's)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("crossdock.synclog")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    db = _database(tmp_path)
    try:
        # When a sync event about a SKU with control characters is recorded
        synclog.record_now(db, operation="stock.push", outcome="failed", channel="shop", entity_type="sku",
                           entity=EVIL_SKU, code="XD-PLATFORM-001", message=EVIL_TITLE)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        db.dispose()
    # Then it is logged as exactly one line, the values escaped
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert f"sku={ESCAPED_SKU}" in lines[0] and "Mug\\x1b[31m red\\nsecond line" in lines[0]
    assert "\x1b" not in lines[0] and "\r" not in lines[0]
