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
