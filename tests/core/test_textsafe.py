"""Platform text shown to a person cannot forge a log line or move the cursor."""

from __future__ import annotations

import io
import logging

from crossdock.textsafe import SafeFormatter, printable


def test_control_characters_become_visible_escapes_and_nothing_is_lost():
    evil = "SKU-1\n2026-12-06 10:00:00 INFO crossdock: all fine\x1b[2J\x1b[31mred\rback\ttab\x00\x7f\x9b\u2028"
    shown = printable(evil)
    assert "\n" not in shown and "\x1b" not in shown and "\r" not in shown and "\u2028" not in shown
    assert shown == ("SKU-1\\n2026-12-06 10:00:00 INFO crossdock: all fine\\x1b[2J\\x1b[31mred\\rback\\ttab"
                     "\\x00\\x7f\\x9b\\u2028")
    assert printable("Müller, Straße 1 — ok") == "Müller, Straße 1 — ok"
    assert printable(None) == "" and printable(42) == "42"


def test_a_log_line_with_a_forged_newline_stays_one_line():
    # Given a logger writing through the safe formatter
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("crossdock.test.textsafe")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # When a message carries a platform value with a newline and an escape sequence
        logger.warning("order %s refused", "113-1\nERROR crossdock: forged\x1b[1A")
    finally:
        logger.removeHandler(handler)
    # Then exactly one line is written, with the value escaped
    lines = stream.getvalue().splitlines()
    assert lines == ["WARNING crossdock.test.textsafe: order 113-1\\nERROR crossdock: forged\\x1b[1A refused"]


def test_catalogue_text_keeps_its_brackets_and_platform_text_cannot_move_the_cursor(tmp_path):
    """Issue 19 §5/§6: a remedy naming ``[ratelimit]`` prints the word, not a style;
    a product title carrying a newline and escape sequences prints escaped."""
    import json

    from tests.cli_run import crossdock

    explained = crossdock("errors", "explain", "XD-QUOTA-001", cwd=tmp_path, env={"COLUMNS": "200"})
    assert explained.returncode == 0 and "operation in [ratelimit]" in explained.stdout

    (tmp_path / "crossdock.toml").write_text('[database]\nurl = "sqlite:///x.sqlite"\n', encoding="utf-8")
    # a product title with control characters is refused at the door, with its code
    evil = "Mug\x1b[2J\x1b[31m\nSKU-2 forged row"
    (tmp_path / "cat.json").write_text(json.dumps([{"sku": "SKU-1", "title": evil}]), encoding="utf-8")
    imported = crossdock("catalog", "import", "cat.json", cwd=tmp_path)
    assert imported.returncode == 1 and "XD-INV-009" in imported.stderr and "\x1b" not in imported.stderr
    # and platform text that is stored (an error message in the sync log) is shown escaped
    from crossdock import synclog
    from crossdock.db.engine import Database
    from crossdock.db.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    upgrade(db)
    synclog.record_now(db, operation="orders.import", outcome="failed", channel="shop", entity_type="order",
                       entity="1001\x1b[1A", code="XD-PLATFORM-001", message=evil)
    db.dispose()
    shown = crossdock("logs", cwd=tmp_path, env={"COLUMNS": "250"})
    assert shown.returncode == 0
    assert "\x1b" not in shown.stdout and "\\x1b[2J" in shown.stdout and "1001\\x1b[1A" in shown.stdout
    assert not any(line.lstrip("│ ").startswith("SKU-2 forged") for line in shown.stdout.splitlines())
