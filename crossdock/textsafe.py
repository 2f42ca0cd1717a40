"""Text from platforms, made safe to show a person.

SKUs, titles, buyer names and error messages come from platform payloads; a
payload may carry newlines (a forged second log line) or terminal escape
sequences (clear the screen, move the cursor, recolour a line). Everything
crossdock writes to a log line or a terminal table goes through
:func:`printable`: control characters become visible escapes (``\\n``,
``\\x1b``), nothing is dropped, so support still sees exactly what the
platform sent.
"""

from __future__ import annotations

import logging
import re

# C0 controls (tab included: it moves the cursor too), DEL, C1 controls, and the Unicode
# line/paragraph separators some terminals and log viewers treat as newlines.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def printable(text: object) -> str:
    """``text`` with every control character shown as an escape."""
    s = "" if text is None else str(text)
    return _CONTROL.sub(_escape, s) if _CONTROL.search(s) else s


def markup_escape(text: object) -> str:
    """:func:`printable`, then Rich's markup escape: safe to put inside a Rich
    markup string (``[ratelimit]`` in a remedy stays text, not a style)."""
    from rich.markup import escape

    return escape(printable(text))


class SafeFormatter(logging.Formatter):
    """A log formatter whose message part never spans lines or carries
    escape sequences (a traceback, added by the formatter itself, still does)."""

    def formatMessage(self, record: logging.LogRecord) -> str:   # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)
