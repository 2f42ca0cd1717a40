"""Shipping labels (PDF and ZPL), customs pages and pick lists.

Renderers are pure (data in, bytes out); :func:`write_label` writes a file
atomically and :mod:`crossdock.warehouse.printer` sends ZPL to a printer.
"""

from __future__ import annotations

from crossdock.warehouse.labels.base import (
    LabelData,
    PickItem,
    PickRow,
    aggregate_pick_rows,
    sort_pick_rows,
    write_label,
)
from crossdock.warehouse.labels.pdf import picklist_pdf, render_pdf
from crossdock.warehouse.labels.zpl import render_zpl

__all__ = [
    "LabelData",
    "PickItem",
    "PickRow",
    "aggregate_pick_rows",
    "picklist_pdf",
    "render_pdf",
    "render_zpl",
    "sort_pick_rows",
    "write_label",
]
