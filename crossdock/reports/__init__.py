"""``crossdock report orders|sales|stock|api-usage``: multi-dimension
reports read straight from the tables, so their sums reconcile exactly with
the orders table (every order counted once, in the period of its
``purchased_at``, UTC). A report is a list of columns and rows of plain
values (Decimals as exact strings); the CLI prints it as a table, CSV or
JSON (:mod:`crossdock.reports.build`)."""

from __future__ import annotations

from crossdock.reports.build import COLUMNS, KINDS, PERIODS, Report, build_report, period_of

__all__ = ["COLUMNS", "KINDS", "PERIODS", "Report", "build_report", "period_of"]
