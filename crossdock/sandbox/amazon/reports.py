"""Reports API 2021-06-30 of the simulated Amazon: the seller-fulfilled
returns report (issue 18).

On Amazon the buyer opens a return (the sandbox's :func:`open_buyer_return`);
SP-API gives a seller-fulfilled (MFN) seller no call to read, open or receive
one — only the returns reports. Served here:
``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` (tab-separated, the columns of
Seller Central's returns report) for the returns requested between
``dataStartTime`` and ``dataEndTime`` (default: the last 60 days, the most one
report covers):

- ``POST /reports/2021-06-30/reports`` → 202 ``{"reportId"}``;
- ``GET /reports/2021-06-30/reports/{reportId}``: ``processingStatus`` turns
  ``DONE`` (with ``reportDocumentId``) once the report was generated, a few
  sandbox seconds after it was asked for;
- ``GET /reports/2021-06-30/documents/{reportDocumentId}``: a pre-signed URL
  (the feeds' document store), valid for 5 minutes.

Rates are Amazon's published defaults (createReport and getReportDocument
0.0167/s burst 15, getReport 2/s burst 15).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.amazon.auth import authenticate, denied
from crossdock.sandbox.amazon.state import FeedDocument
from crossdock.sandbox.amazon.wire import iso_ms, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
REPORT_TYPES = frozenset({RETURNS_REPORT})
RATES = {"createReport": (0.0167, 15), "getReport": (2.0, 15), "getReportDocument": (0.0167, 15)}
#: Sandbox seconds a report takes to generate.
GENERATE_S = 5.0
MAX_SPAN_S = 60 * 86400
COLUMNS = ("Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID",
           "Merchant RMA ID", "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID",
           "Label to be paid by", "A-to-z claim", "Is prime", "ASIN", "Merchant SKU", "Item Name",
           "Return quantity", "Return reason", "In policy", "Return type", "Resolution", "Invoice number",
           "Return delivery date", "Order Amount", "Order quantity")
#: Return reasons a buyer picks (Amazon's codes).
REASONS = frozenset({"DEFECTIVE", "DAMAGED_BY_CARRIER", "NOT_AS_DESCRIBED", "UNWANTED_ITEM", "ORDERED_WRONG_ITEM",
                     "APPAREL_TOO_SMALL", "APPAREL_TOO_LARGE", "QUALITY_UNACCEPTABLE", "NO_REASON_GIVEN"})


@dataclass
class BuyerReturn:
    rma_id: str
    order_id: str
    seller_id: str
    marketplace_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    reason: str
    requested_at: float
    status: str = "Approved"               # Approved, Closed


@dataclass
class Report:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: list[str]
    start: float
    end: float
    created_at: float
    document_id: str | None = None
    rows: list[BuyerReturn] = field(default_factory=list)


def _state(sim: AmazonSim) -> tuple[dict[str, Report], list[BuyerReturn]]:
    got = getattr(sim, "report_state", None)
    if got is None:
        got = ({}, [])
        sim.report_state = got  # type: ignore[attr-defined]  # kept on the sim, made on first use
    return got


def open_buyer_return(sim: AmazonSim, order_id: str, sku: str, quantity: int, reason: str = "DEFECTIVE") -> str:
    """The buyer asks to return ``quantity`` shipped units of ``sku`` (Amazon authorises it at once).
    Returns the Amazon RMA id."""
    if reason not in REASONS:
        raise ValueError(f"return reason {reason!r}")
    with sim.lock:
        o = sim.orders[order_id]
        item = next(i for i in o.items if i.sku == sku)
        if quantity <= 0 or quantity > item.quantity_shipped:
            raise ValueError(f"{sku}: {quantity} asked, {item.quantity_shipped} shipped")
        _, returns = _state(sim)
        rma = f"D{sim.ids.digits(9)}RRMA"
        returns.append(BuyerReturn(rma_id=rma, order_id=order_id, seller_id=o.seller_id,
                                   marketplace_id=o.marketplace_id, sku=sku, asin=item.asin, title=item.title,
                                   quantity=quantity, reason=reason, requested_at=sim.now()))
    return rma


def _tsv(rows: list[BuyerReturn], sim: AmazonSim) -> bytes:
    lines = ["\t".join(COLUMNS)]
    for r in rows:
        o = sim.orders.get(r.order_id)
        day = dt.datetime.fromtimestamp(r.requested_at, dt.timezone.utc).strftime("%d-%b-%Y")
        ordered = dt.datetime.fromtimestamp(o.purchase_date, dt.timezone.utc).strftime("%d-%b-%Y") if o else ""
        item = next((i for i in o.items if i.sku == r.sku), None) if o else None
        values = (r.order_id, ordered, day, r.status, r.rma_id, "", "AmazonUnPaidLabel", "", o.currency if o else "",
                  "", "", "Customer", "N", "N", r.asin, r.sku, r.title, str(r.quantity), r.reason, "Y",
                  "C-Returns", "StandardRefund", "", "", str(item.unit_price * item.quantity) if item else "",
                  str(item.quantity) if item else "")
        lines.append("\t".join(v.replace("\t", " ") for v in values))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _time(text: Any) -> float:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def create_report(sim: AmazonSim, req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    rate = RATES["createReport"][0]
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or body.get("reportType") not in REPORT_TYPES:
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid reportType: {body and body.get('reportType')!r}.",
                        rate=rate)
    mps = body.get("marketplaceIds")
    if not isinstance(mps, list) or not mps or any(m not in auth.seller.marketplace_ids for m in mps):
        return sp_error(400, "InvalidInput", "Invalid input", f"Invalid marketplaceIds: {mps!r}.", rate=rate)
    now = sim.now()
    try:
        end = min(_time(body["dataEndTime"]), now) if body.get("dataEndTime") else now
        start = _time(body["dataStartTime"]) if body.get("dataStartTime") else end - MAX_SPAN_S
    except ValueError:
        return sp_error(400, "InvalidInput", "Invalid input", "dataStartTime/dataEndTime: ISO 8601", rate=rate)
    start = max(start, end - MAX_SPAN_S)
    with sim.lock:
        reports, returns = _state(sim)
        rid = sim.ids.digits(11)
        reports[rid] = Report(report_id=rid, seller_id=auth.seller.seller_id, report_type=body["reportType"],
                              marketplace_ids=list(mps), start=start, end=end, created_at=now,
                              rows=[r for r in returns if r.seller_id == auth.seller.seller_id
                                    and r.marketplace_id in mps and start <= r.requested_at <= end])
    return sp_json({"reportId": rid}, 202, rate=rate)


def _finish(sim: AmazonSim, rep: Report) -> None:
    if rep.document_id is None and sim.now() >= rep.created_at + GENERATE_S:
        doc = FeedDocument(document_id=f"amzn1.spdoc.1.4.na.{sim.ids.uuid()}", seller_id=rep.seller_id,
                           content_type="text/tab-separated-values; charset=UTF-8", created_at=sim.now(),
                           body=_tsv(rep.rows, sim), kind="result")
        sim.documents[doc.document_id] = doc
        rep.document_id = doc.document_id


def get_report(sim: AmazonSim, req: Request) -> Response:
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    rate = RATES["getReport"][0]
    with sim.lock:
        rep = _state(sim)[0].get(req.path_params["reportId"])
        if rep is None or rep.seller_id != auth.seller.seller_id:
            return sp_error(404, "NotFound", "The requested report was not found.", req.path_params["reportId"],
                            rate=rate)
        _finish(sim, rep)
        out: dict[str, Any] = {"reportId": rep.report_id, "reportType": rep.report_type,
                               "marketplaceIds": rep.marketplace_ids, "createdTime": iso_ms(rep.created_at),
                               "dataStartTime": iso_ms(rep.start), "dataEndTime": iso_ms(rep.end),
                               "processingStatus": "DONE" if rep.document_id else "IN_PROGRESS"}
        if rep.document_id:
            out["reportDocumentId"] = rep.document_id
            out["processingEndTime"] = iso_ms(rep.created_at + GENERATE_S)
    return sp_json(out, rate=rate)


def get_report_document(sim: AmazonSim, req: Request) -> Response:
    from crossdock.sandbox.amazon.feeds import document_url

    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    rate = RATES["getReportDocument"][0]
    with sim.lock:
        doc = sim.documents.get(req.path_params["reportDocumentId"])
        if doc is None or doc.seller_id != auth.seller.seller_id or doc.kind != "result":
            return sp_error(404, "NotFound", "The requested report document was not found.",
                            req.path_params["reportDocumentId"], rate=rate)
        return sp_json({"reportDocumentId": doc.document_id, "url": document_url(sim, doc)}, rate=rate)


def register(sim: AmazonSim) -> None:
    routes = (
        ("POST", "/reports/2021-06-30/reports", "createReport", create_report),
        ("GET", "/reports/2021-06-30/reports/{reportId}", "getReport", get_report),
        ("GET", "/reports/2021-06-30/documents/{reportDocumentId}", "getReportDocument", get_report_document),
    )
    for method, path, op, fn in routes:
        rate, burst = RATES[op]
        sim.op(method, path, op, account=sim.account_of, rate=rate, burst=burst)(
            (lambda f: lambda req: f(sim, req))(fn))
