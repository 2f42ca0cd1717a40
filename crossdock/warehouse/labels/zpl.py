"""Shipping label as ZPL II for a 4 x 6 in thermal label at 203 or 300 dpi.

The layout is defined in inches and converted to dots for the printer's
resolution, so both resolutions print the same physical label. Every text
field goes through ``^FH`` (hex escapes): ``^``, ``~``, ``_``, control bytes and
every non-ASCII byte of the UTF-8 text are written as ``_XX`` so no data can
end a field or inject a command, and ``^CI28`` tells the printer the bytes
are UTF-8. (Font 0 covers Latin, Cyrillic and Greek; CJK text needs a font
downloaded to the printer.) The tracking number is a Code 128 barcode
(``^BC``, automatic subset selection) with its interpretation line.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from crossdock.warehouse.labels.base import LabelData, address_lines, format_weight, sender_lines

SUPPORTED_DPI = (203, 300, 600)
LABEL_WIDTH_IN = 4.0
LABEL_HEIGHT_IN = 6.0
MARGIN_IN = 0.1


def escape_field(text: str) -> str:
    """Text for ``^FH^FD…^FS``: printable ASCII except ``^ ~ _`` as-is, every
    other byte of the UTF-8 encoding as ``_XX``. Line breaks become spaces."""
    text = " ".join(text.split())
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte < 0x20 or byte > 0x7E or byte in (0x5E, 0x7E, 0x5F):
            out.append(f"_{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def code128_modules(data: str) -> int:
    """Upper bound of the width of ``data`` in Code 128 modules (subset B:
    start + 11 per character + check + 13-module stop)."""
    return 11 * len(data) + 35


@dataclass(slots=True)
class _Zpl:
    dpi: int
    parts: list[str]

    def d(self, inches: float) -> int:
        return int(round(inches * self.dpi))

    def text(self, x_in: float, y_in: float, height_in: float, text: str) -> None:
        h = self.d(height_in)
        self.parts.append(f"^FO{self.d(x_in)},{self.d(y_in)}^A0N,{h},{h}^FH^FD{escape_field(text)}^FS")

    def hline(self, y_in: float, thickness_in: float = 0.02) -> None:
        width = self.d(LABEL_WIDTH_IN - 2 * MARGIN_IN)
        t = max(1, self.d(thickness_in))
        self.parts.append(f"^FO{self.d(MARGIN_IN)},{self.d(y_in)}^GB{width},{t},{t}^FS")

    def wrapped(self, x_in: float, y_in: float, height_in: float, width_in: float,
                lines: list[str], *, max_lines: int, step_in: float) -> float:
        """Print ``lines`` wrapped to ``width_in``; returns the next free y."""
        chars = max(8, int(width_in / (0.55 * height_in)))
        printed = 0
        for line in lines:
            for chunk in textwrap.wrap(line, chars) or [""]:
                if printed == max_lines:
                    return y_in
                self.text(x_in, y_in, height_in, chunk)
                y_in += step_in
                printed += 1
        return y_in


def render_zpl(label: LabelData, *, dpi: int = 203) -> bytes:
    """The label as ZPL II bytes (ASCII), one ``^XA … ^XZ`` format."""
    if dpi not in SUPPORTED_DPI:
        raise ValueError(f"dpi must be one of {SUPPORTED_DPI}, got {dpi}")
    z = _Zpl(dpi=dpi, parts=[])
    z.parts += ["^XA", "^CI28", f"^PW{z.d(LABEL_WIDTH_IN)}", f"^LL{z.d(LABEL_HEIGHT_IN)}", "^LH0,0"]

    # sender (top left) and carrier / service (top right)
    z.text(MARGIN_IN, 0.12, 0.09, "FROM")
    z.wrapped(MARGIN_IN, 0.26, 0.10, 2.4, sender_lines(label.ship_from), max_lines=6, step_in=0.13)
    z.text(2.7, 0.12, 0.09, "CARRIER")
    z.text(2.7, 0.26, 0.16, label.carrier.upper()[:12])
    z.text(2.7, 0.47, 0.12, label.service.upper()[:14])
    z.hline(1.08)

    # recipient
    z.text(MARGIN_IN, 1.15, 0.09, "SHIP TO")
    z.wrapped(MARGIN_IN, 1.32, 0.17, 3.0, address_lines(label.ship_to, country=""),
              max_lines=6, step_in=0.22)
    country = (label.ship_to.country_code or "").upper()
    if country:
        z.text(3.15, 1.25, 0.45, country[:2])
    z.hline(2.7)

    # tracking barcode
    tracking = label.tracking_number.strip()
    z.text(MARGIN_IN, 2.8, 0.12, f"TRACKING {tracking}")
    available = z.d(LABEL_WIDTH_IN - 2 * MARGIN_IN)
    modules = code128_modules(tracking)
    module = min(max(2, round(dpi / 68)), available // modules)
    if module < 1:
        raise ValueError(f"tracking number {tracking!r} is too long for a 4 in Code 128 barcode")
    x = (z.d(LABEL_WIDTH_IN) - modules * module) // 2
    z.parts.append(f"^BY{module},3,{z.d(1.1)}")
    z.parts.append(f"^FO{x},{z.d(3.02)}^BCN,{z.d(1.1)},Y,N,N,A^FH^FD{escape_field(tracking)}^FS")
    z.hline(4.5)

    # references
    z.text(MARGIN_IN, 4.6, 0.11, f"ORDER {label.order}"[:60])
    facts = [f"WEIGHT {format_weight(label.weight_g)}" if label.weight_g else "",
             f"SHIPPED {label.shipped_on.isoformat()}" if label.shipped_on else ""]
    z.text(MARGIN_IN, 4.78, 0.11, "   ".join(f for f in facts if f) or " ")

    # customs marker
    if label.customs is not None:
        c = label.customs
        z.hline(5.0)
        z.text(MARGIN_IN, 5.1, 0.15,
               f"CUSTOMS {c.form} - {c.category.label.upper()} - {c.total_value.amount} {c.currency}")
        z.text(MARGIN_IN, 5.32, 0.11, f"{c.origin_country} > {c.destination_country}"
               + (f"   IOSS {c.ioss_number}" if c.ioss_number else ""))
        z.text(MARGIN_IN, 5.5, 0.09, f"{c.form} declaration attached")

    z.parts.append("^XZ")
    return ("\n".join(z.parts) + "\n").encode("ascii")
