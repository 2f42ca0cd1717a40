"""Shipping label and pick list as PDF (reportlab).

The label is a 4 x 6 in page: sender, recipient, carrier and service, the
tracking number as a Code 128 barcode *and* as real text (so a PDF reader or
parser finds it), the order reference and, for a cross-border parcel, a
second page (more if the contents are long) with the CN22 / CN23 data.

Text in Latin-1/CP1252 uses Helvetica; anything else (Chinese, Japanese,
Korean, Cyrillic, …) uses reportlab's built-in CID fonts, which PDF viewers
supply, so a Chinese sender address still prints. Output is byte-for-byte
reproducible for the same input (``invariant``).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from crossdock.warehouse.customs import CustomsCategory, CustomsDeclaration
from crossdock.warehouse.labels.base import (
    LabelData,
    PickRow,
    address_lines,
    format_weight,
    sender_lines,
    sort_pick_rows,
)

log = logging.getLogger(__name__)

# Streams are Flate-compressed binary, as PDF readers take them, not also ASCII85-encoded:
# reportlab's ASCII85 encoder is pure Python when its C accelerator is missing and made up
# ~15 % of a label's render. Readers decode both; the labels read the same (tests/warehouse).
rl_config.useA85 = 0

LABEL_PAGE = (4 * inch, 6 * inch)
MARGIN = 0.15 * inch

_CJK_FONT = "STSong-Light"          # Adobe-GB1: Chinese, kana, Cyrillic, Greek
_JA_FONT = "HeiseiKakuGo-W5"
_KO_FONT = "HYSMyeongJo-Medium"
_registered: set[str] = set()


def _cid(name: str) -> str:
    if name not in _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        _registered.add(name)
    return name


def font_for(text: str, *, bold: bool = False) -> str:
    """Helvetica when the text fits CP1252, else a CID font that has the glyphs."""
    try:
        text.encode("cp1252")
        return "Helvetica-Bold" if bold else "Helvetica"
    except UnicodeEncodeError:
        pass
    names = " ".join(unicodedata.name(ch, "") for ch in text if ord(ch) > 0xFF)
    if "HANGUL" in names:
        return _cid(_KO_FONT)
    if "HIRAGANA" in names or "KATAKANA" in names:
        return _cid(_JA_FONT)
    return _cid(_CJK_FONT)


def _fit(text: str, font: str, size: float, width: float, *, min_size: float = 6) -> tuple[str, float]:
    """Shrink to ``min_size`` then cut, so ``text`` fits in ``width`` points."""
    while size > min_size and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    while text and pdfmetrics.stringWidth(text, font, size) > width:
        text = text[:-1]
    return text, size


def _line(c: Canvas, x: float, y: float, text: str, size: float, width: float, *, bold: bool = False) -> None:
    font = font_for(text, bold=bold)
    text, size = _fit(text, font, size, width)
    c.setFont(font, size)
    c.drawString(x, y, text)


def _draw_label_page(c: Canvas, label: LabelData) -> None:
    w, h = LABEL_PAGE
    inner = w - 2 * MARGIN
    c.saveState()
    c.setLineWidth(1.2)

    # sender and carrier
    top = h - MARGIN
    _line(c, MARGIN, top - 8, "FROM", 6, inner, bold=True)
    y = top - 18
    for text in sender_lines(label.ship_from)[:6]:
        _line(c, MARGIN, y, text, 7.5, 2.4 * inch)
        y -= 9
    _line(c, 2.65 * inch, top - 8, "CARRIER", 6, 1.2 * inch, bold=True)
    _line(c, 2.65 * inch, top - 22, label.carrier.upper(), 12, 1.2 * inch, bold=True)
    _line(c, 2.65 * inch, top - 35, label.service.upper(), 9, 1.2 * inch)
    y_rule = h - 1.05 * inch
    c.line(MARGIN, y_rule, w - MARGIN, y_rule)

    # recipient
    _line(c, MARGIN, y_rule - 10, "SHIP TO", 6, inner, bold=True)
    y = y_rule - 25
    for n, text in enumerate(address_lines(label.ship_to, country="")[:7]):
        _line(c, MARGIN, y, text, 11, 3.0 * inch, bold=(n == 0))
        y -= 13.5
    if label.ship_to.country_code:
        _line(c, 3.15 * inch, y_rule - 40, label.ship_to.country_code.upper()[:2], 28, 0.7 * inch, bold=True)
    y_rule = h - 2.75 * inch
    c.line(MARGIN, y_rule, w - MARGIN, y_rule)

    # barcode + human-readable tracking number (real text)
    tracking = label.tracking_number.strip()
    probe = Code128(tracking, barWidth=1.0, barHeight=1, quiet=True, humanReadable=False)
    bar_width = min(1.3, inner / probe.width)
    barcode = Code128(tracking, barWidth=bar_width, barHeight=1.0 * inch, quiet=True, humanReadable=False)
    barcode.drawOn(c, (w - barcode.width) / 2, y_rule - 1.15 * inch)
    c.setFont("Helvetica-Bold", 13)
    c.drawCentredString(w / 2, y_rule - 1.38 * inch, tracking)
    y_rule -= 1.5 * inch
    c.line(MARGIN, y_rule, w - MARGIN, y_rule)

    # references
    _line(c, MARGIN, y_rule - 12, f"Order {label.order}", 8, inner)
    facts = [f"Weight {format_weight(label.weight_g)}" if label.weight_g else "",
             f"Shipped {label.shipped_on.isoformat()}" if label.shipped_on else ""]
    _line(c, MARGIN, y_rule - 23, "   ".join(f for f in facts if f), 8, inner)

    if label.customs is not None:
        cd = label.customs
        y_rule -= 0.42 * inch
        c.line(MARGIN, y_rule, w - MARGIN, y_rule)
        _line(c, MARGIN, y_rule - 13,
              f"CUSTOMS {cd.form} - {cd.category.label} - {cd.total_value.amount} {cd.currency}",
              9.5, inner, bold=True)
        ioss = f"   IOSS {cd.ioss_number}" if cd.ioss_number else ""
        _line(c, MARGIN, y_rule - 25, f"{cd.origin_country} > {cd.destination_country}{ioss}", 8, inner)
        _line(c, MARGIN, y_rule - 36, f"{cd.form} declaration on the following page", 7, inner)
    c.restoreState()


@lru_cache(maxsize=64)
def _style(font: str, size: float, leading: float, word_wrap: str | None) -> ParagraphStyle:
    """One style per (font, size, leading, wrap): a label's cells share a handful of them,
    and reportlab only reads a style, so building it once per cell is waste."""
    return ParagraphStyle("xd", fontName=font, fontSize=size, leading=leading, wordWrap=word_wrap)


def _para(text: str, size: float, *, bold: bool = False, leading: float | None = None) -> Paragraph:
    style = _style(font_for(text, bold=bold), size, leading or size * 1.2, "CJK" if not text.isascii() else None)
    return Paragraph(escape(text), style)


def _customs_flowables(cd: CustomsDeclaration, *, shipped_on: dt.date | None) -> list:
    title = {"CN22": "CN 22", "CN23": "CN 23"}.get(cd.form, cd.form)
    out: list = [
        _para(f"{title} - CUSTOMS DECLARATION", 11, bold=True),
        _para("May be opened officially", 6.5),
        Spacer(1, 3),
        _para("   ".join(("[X] " if cat is cd.category else "[ ] ") + cat.label
                         for cat in CustomsCategory), 6),
        Spacer(1, 4),
    ]
    header = ["Description of contents", "Qty", "Net kg", f"Value {cd.currency}", "HS tariff no.", "Origin"]
    rows: list[list] = [[_para(hd, 6, bold=True) for hd in header]]
    for item in cd.items:
        rows.append([
            _para(item.description, 6),
            _para(str(item.quantity), 6),
            _para(f"{item.net_weight_g / 1000:.3f}", 6),
            _para(str(item.value.amount), 6),
            _para(item.hs_code, 6),
            _para(item.origin_country, 6),
        ])
    rows.append([
        _para("Total gross weight / total value", 6, bold=True), "",
        _para(f"{cd.gross_weight_g / 1000:.3f}", 6, bold=True),
        _para(str(cd.total_value.amount), 6, bold=True), "", "",
    ])
    widths = [x * inch for x in (1.25, 0.3, 0.45, 0.55, 0.65, 0.4)]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("SPAN", (0, -1), (1, -1)),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    out += [table, Spacer(1, 5)]
    out.append(_para(f"From {cd.origin_country} to {cd.destination_country}"
                     + (f"    Sender's reference: {cd.reference}" if cd.reference else ""), 6.5))
    if cd.ioss_number:
        out.append(_para(f"IOSS number: {cd.ioss_number}", 8, bold=True))
    out += [
        Spacer(1, 4),
        _para("I, the undersigned, whose name and address are given on the item, certify that the "
              "particulars given in this declaration are correct and that this item does not contain "
              "any dangerous article or articles prohibited by legislation or by postal or customs "
              "regulations.", 5.5),
        Spacer(1, 6),
        _para(f"Date and sender's signature: {shipped_on.isoformat() if shipped_on else ''}"
              "  ____________________", 6.5),
    ]
    return out


def render_pdf(label: LabelData) -> bytes:
    """The label (and customs pages when ``label.customs`` is set) as PDF bytes."""
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=LABEL_PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=MARGIN, invariant=1,
        title=f"Label {label.tracking_number}", author="crossdock", creator="crossdock",
    )
    frame = Frame(MARGIN, MARGIN, LABEL_PAGE[0] - 2 * MARGIN, LABEL_PAGE[1] - 2 * MARGIN,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([
        PageTemplate(id="label", frames=[frame], onPage=lambda c, _d: _draw_label_page(c, label)),
        PageTemplate(id="customs", frames=[frame]),
    ])
    story: list = [Spacer(1, 1)]
    if label.customs is not None:
        story += [NextPageTemplate("customs"), PageBreak(),
                  *_customs_flowables(label.customs, shipped_on=label.shipped_on)]
    doc.build(story)
    return buf.getvalue()


def picklist_pdf(
    rows: Iterable[PickRow],
    *,
    title: str = "Pick list",
    warehouse: str | None = None,
    batch_id: str | None = None,
    created_at: dt.datetime | None = None,
) -> bytes:
    """An A4 pick list: one row per (bin, SKU), sorted by bin so the picker
    walks the aisles once; columns tick box, bin, SKU, title, quantity, orders."""
    ordered = sort_pick_rows(rows)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=14 * mm, invariant=1,
                            title=title, author="crossdock", creator="crossdock")
    heading = " - ".join(p for p in (title, f"warehouse {warehouse}" if warehouse else "",
                                     f"batch {batch_id}" if batch_id else "") if p)
    orders = {o for r in ordered for o in r.orders}
    summary = (f"{len(ordered)} lines, {sum(r.quantity for r in ordered)} units, {len(orders)} orders"
               + (f" - created {created_at.isoformat(timespec='minutes')}" if created_at else ""))
    data: list[list] = [[_para(h, 8, bold=True) for h in ("", "Bin", "SKU", "Title", "Qty", "Orders")]]
    for r in ordered:
        data.append([
            "[  ]",
            _para(r.bin or "-", 9, bold=True),
            _para(r.sku, 8.5),
            _para(r.title or "", 8),
            _para(str(r.quantity), 10, bold=True),
            _para(", ".join(r.orders), 7),
        ])
    table = Table(data, colWidths=[x * mm for x in (9, 24, 34, 62, 12, 45)], repeatRows=1)
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 1), (0, -1), "Helvetica"),
        ("FONTSIZE", (0, 1), (0, -1), 9),
    ]))

    def footer(c: Canvas, d: SimpleDocTemplate) -> None:
        c.saveState()
        c.setFont("Helvetica", 7)
        c.drawRightString(A4[0] - 12 * mm, 8 * mm, f"{heading} - page {d.page}")
        c.restoreState()

    doc.build([_para(heading, 14, bold=True), _para(summary, 8), Spacer(1, 6), table],
              onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


__all__ = ["LABEL_PAGE", "font_for", "picklist_pdf", "render_pdf"]
