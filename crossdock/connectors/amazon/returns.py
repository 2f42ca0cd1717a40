"""Returns on Amazon (issue 18): the seller-fulfilled returns report.

On Amazon the buyer opens a return and Amazon authorises it; SP-API gives a
seller-fulfilled (MFN) seller no call to open, read or receive one. What it
gives is the returns report of the Reports API:
``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` (tab-separated; the XML
``GET_XML_RETURNS_DATA_BY_RETURN_DATE`` holds the same), at most 60 days per
report. So:

- ``open_return`` (the contract's default): a seller's RMA is crossdock's
  alone;
- ``receive_return`` (the default): nothing is sent, there is no such call;
- ``read_returns``: createReport → getReport until ``DONE`` →
  getReportDocument → the document; one return per ``Amazon RMA ID``, its
  rows (one per SKU) its lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from crossdock.connectors.returns_contract import PlatformReturn, ReturnLine
from crossdock.errors import NetError, PlatformError

if TYPE_CHECKING:
    from crossdock.clock import Clock
    from crossdock.connectors.amazon.client import SpApiClient
    from crossdock.connectors.amazon.settings import AmazonSettings

__all__ = ["REASONS", "RETURNS_REPORT", "ReadsReturnsReport", "parse_returns_report"]

RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
#: The most one returns report covers (days).
MAX_SPAN_DAYS = 60
#: Amazon's return reason codes → crossdock's neutral reasons; anything else is "other".
REASONS: Mapping[str, str] = {
    "DEFECTIVE": "defective", "QUALITY_UNACCEPTABLE": "defective", "DAMAGED_BY_CARRIER": "damaged",
    "DAMAGED_BY_FC": "damaged", "NOT_AS_DESCRIBED": "not_as_described", "SWITCHEROO": "wrong_item",
    "ORDERED_WRONG_ITEM": "wrong_item", "UNWANTED_ITEM": "unwanted", "UNDELIVERABLE_REFUSED": "unwanted",
    "APPAREL_TOO_SMALL": "size_fit", "APPAREL_TOO_LARGE": "size_fit", "APPAREL_STYLE": "size_fit",
}
_CLOSED = ("closed", "rejected", "cancelled")


def _day(text: str) -> dt.datetime | None:
    for fmt in ("%d-%b-%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return None


def parse_returns_report(content: bytes) -> list[PlatformReturn]:
    """The flat-file returns report: one return per Amazon RMA ID, a line per row."""
    text = content.decode("utf-8-sig", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        rma = (row.get("Amazon RMA ID") or "").strip()
        if rma and (row.get("Order ID") or "").strip():
            grouped.setdefault(rma, []).append(row)
    out = []
    for rma, mine in grouped.items():
        first = mine[0]
        reason = (first.get("Return reason") or "").strip().upper().removeprefix("CR-")
        status = (first.get("Return request status") or "").strip()
        out.append(PlatformReturn(
            return_id=rma, platform_order_id=first["Order ID"].strip(),
            state="closed" if status.lower() in _CLOSED else "open", platform_status=status or "Approved",
            reason=REASONS.get(reason, "other"), reason_note=reason or None,
            lines=tuple(ReturnLine(sku=(r.get("Merchant SKU") or "").strip() or None,
                                   quantity=int((r.get("Return quantity") or "1").strip() or 1),
                                   listing_id=(r.get("ASIN") or "").strip() or None) for r in mine),
            opened_at=_day(first.get("Return request date") or ""), extra={"reason": reason}))
    return out


class ReadsReturnsReport:
    """The Amazon connector's returns (a mixin: the connector module is full)."""

    channel: str
    client: SpApiClient
    settings: AmazonSettings
    clock: Clock
    _sleep: Callable[[float], None]
    reads_returns = True

    def read_returns(self, since: dt.datetime | None) -> list[PlatformReturn]:
        s = self.settings
        end = self.clock.now()
        start = max(since or end - dt.timedelta(days=MAX_SPAN_DAYS), end - dt.timedelta(days=MAX_SPAN_DAYS))
        body = {"reportType": RETURNS_REPORT, "marketplaceIds": [s.marketplace_id],
                "dataStartTime": start.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        report_id = str(self.client.create_report(body)["reportId"])
        deadline = self.clock.timestamp() + s.feed_timeout_s
        while True:
            rep: Mapping[str, Any] = self.client.get_report(report_id)
            status = rep.get("processingStatus")
            if status == "DONE" and rep.get("reportDocumentId"):
                doc = self.client.get_report_document(str(rep["reportDocumentId"]))
                content = self.client.download_document(doc["url"])
                if (doc.get("compressionAlgorithm") or "").upper() == "GZIP":
                    content = gzip.decompress(content)
                return parse_returns_report(content)
            if status in ("FATAL", "CANCELLED", "DONE"):
                raise PlatformError("XD-PLATFORM-004", channel=self.channel, entity=f"report {report_id}",
                                    detail=f"returns report {report_id} ended {status}")
            if self.clock.timestamp() > deadline:
                raise NetError("XD-NET-002", channel=self.channel, entity=f"report {report_id}",
                               detail=f"returns report {report_id} still {status} after {s.feed_timeout_s:.0f} s")
            self._sleep(self.clock.to_real_s(s.feed_poll_s))
