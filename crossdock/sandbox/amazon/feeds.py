"""Feeds API 2021-06-30 and the JSON_LISTINGS_FEED processor.

Flow as on Amazon: createFeedDocument returns a pre-signed upload URL (served
here by the sandbox itself, S3-style: the signature covers the content type
and expires after 5 minutes), the client PUTs the document, createFeed queues
it, getFeed moves IN_QUEUE -> IN_PROGRESS -> DONE (or FATAL) over sandbox time
(one feed in progress per seller at a time), and the result document is the
processing report of ``listings-feed-processing-report-schema-v2.json``,
GZIP-compressed like Amazon's. Messages are checked against
``listings-feed-schema-v2.json`` rules (at most 25,000 messages, 10 MiB) and
applied with the same listing rules as the Listings Items API.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crossdock.sandbox.amazon import constants as C
from crossdock.sandbox.amazon.auth import authenticate, denied
from crossdock.sandbox.amazon.listings import loads
from crossdock.sandbox.amazon.adjustment_feeds import ADJUSTMENT_FEED, finish_adjustment
from crossdock.sandbox.amazon.order_feeds import ORDER_ACK_FEED, finish_order_ack
from crossdock.sandbox.amazon.state import Feed, FeedDocument
from crossdock.sandbox.amazon.wire import dumps, iso_ms, render_listing, sp_error, sp_json
from crossdock.sandbox.http import Request, Response

if TYPE_CHECKING:
    from crossdock.sandbox.amazon.sim import AmazonSim

OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
REPORT_INCLUDED = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                   "relationships", "productTypes")


def _rate(op: str) -> float:
    return C.USAGE_PLANS[op][0]


def _bad(op: str, details: str) -> Response:
    return sp_error(400, "InvalidInput", "Invalid input", details, rate=_rate(op))


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f'<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>').encode()
    return Response(status, body, {"Content-Type": "application/xml"})


_AMZ_DATE = "%Y%m%dT%H%M%SZ"


def _signature(sim: "AmazonSim", doc: FeedDocument, amz_date: str) -> str:
    msg = f"{doc.document_id}:{doc.content_type}:{amz_date}".encode()
    return hmac.new(sim.url_secret, msg, hashlib.sha256).hexdigest()


def document_url(sim: "AmazonSim", doc: FeedDocument) -> str:
    """A pre-signed URL valid for 5 minutes of sandbox time from now."""
    base = sim.server.url if sim.server is not None else "http://127.0.0.1"
    amz_date = dt.datetime.fromtimestamp(int(sim.now()), dt.timezone.utc).strftime(_AMZ_DATE)
    return (f"{base}/sandbox-s3/{quote(doc.document_id)}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={amz_date}&X-Amz-Expires={C.FEED_URL_TTL_S}"
            f"&X-Amz-Signature={_signature(sim, doc, amz_date)}")


def _check_url(sim: "AmazonSim", req: Request) -> FeedDocument | Response:
    doc = sim.documents.get(req.path_params["documentId"])
    if doc is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    amz_date = req.arg("X-Amz-Date") or ""
    if not hmac.compare_digest(req.arg("X-Amz-Signature") or "", _signature(sim, doc, amz_date)):
        return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                         "the signature you provided.")
    issued = dt.datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=dt.timezone.utc).timestamp()
    if sim.now() > issued + C.FEED_URL_TTL_S:
        return _s3_error(403, "AccessDenied", "Request has expired")
    return doc


# ------------------------------------------------------------------ handlers


def create_feed_document(sim: "AmazonSim", req: Request) -> Response:
    op = "createFeedDocument"
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _bad(op, "Request body is not valid JSON.")
    ctype = body.get("contentType") if isinstance(body, dict) else None
    if not isinstance(ctype, str) or not ctype.strip():
        return _bad(op, "contentType is required.")
    with sim.lock:
        doc = FeedDocument(document_id=f"amzn1.tortuga.4.na.{sim.ids.uuid()}", seller_id=auth.seller.seller_id,
                           content_type=ctype.strip(), created_at=sim.now(), requests=1)
        sim.documents[doc.document_id] = doc
    return sp_json({"feedDocumentId": doc.document_id, "url": document_url(sim, doc)}, 201, rate=_rate(op))


def upload_document(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        doc = _check_url(sim, req)
        if isinstance(doc, Response):
            return doc
        if doc.kind != "input":
            return _s3_error(403, "AccessDenied", "Access Denied")
        sent = (req.headers.get("content-type") or "").replace(" ", "").lower()
        if sent != doc.content_type.replace(" ", "").lower():
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not "
                             "match the signature you provided. Check your key and signing method.")
        doc.body = req.body
        doc.requests += 1
        doc.stock = b"fulfillment_availability" in req.body
    etag = hashlib.md5(req.body, usedforsecurity=False).hexdigest()
    return Response(200, b"", {"ETag": f'"{etag}"'})


def download_document(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        doc = _check_url(sim, req)
        if isinstance(doc, Response):
            return doc
        if doc.body is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if doc.stock_channel:
            sim.market.record_stock_request(doc.stock_channel)
        return Response(200, doc.body, {"Content-Type": doc.content_type})


def create_feed(sim: "AmazonSim", req: Request) -> Response:
    op = "createFeed"
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _bad(op, "Request body is not valid JSON.")
    if not isinstance(body, dict):
        return _bad(op, "Invalid input")
    feed_type, mps, doc_id = body.get("feedType"), body.get("marketplaceIds"), body.get("inputFeedDocumentId")
    if feed_type not in C.FEED_TYPES:
        return _bad(op, f"Invalid feedType: {feed_type!r}.")
    if not isinstance(mps, list) or not mps or any(m not in auth.seller.marketplace_ids for m in mps):
        return _bad(op, f"Invalid marketplaceIds: {mps!r}.")
    with sim.lock:
        doc = sim.documents.get(str(doc_id))
        if doc is None or doc.seller_id != auth.seller.seller_id or doc.kind != "input":
            return _bad(op, f"Invalid inputFeedDocumentId: {doc_id!r}.")
        feed = Feed(feed_id=sim.ids.digits(11), seller_id=auth.seller.seller_id, feed_type=feed_type,
                    marketplace_ids=list(mps), input_document_id=doc.document_id, created_at=sim.now())
        sim.feeds[feed.feed_id] = feed
        sim.counters["feeds_created"] += 1
        if doc.stock:   # the sandbox's record of stock-setting requests: the document's, and this one
            feed.stock_channel = auth.seller.channel(feed.marketplace_ids[0])
            sim.market.record_stock_request(feed.stock_channel, doc.requests + 1)
    return sp_json({"feedId": feed.feed_id}, 202, rate=_rate(op))


def _feed_json(feed: Feed) -> dict[str, Any]:
    out: dict[str, Any] = {"feedId": feed.feed_id, "feedType": feed.feed_type,
                           "marketplaceIds": feed.marketplace_ids, "createdTime": iso_ms(feed.created_at),
                           "processingStatus": feed.status}
    if feed.started_at is not None:
        out["processingStartTime"] = iso_ms(feed.started_at)
    if feed.ended_at is not None:
        out["processingEndTime"] = iso_ms(feed.ended_at)
    if feed.result_document_id:
        out["resultFeedDocumentId"] = feed.result_document_id
    return out


def _own_feed(sim: "AmazonSim", req: Request, op: str):
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    sim.advance()
    feed = sim.feeds.get(req.path_params["feedId"])
    if feed is None or feed.seller_id != auth.seller.seller_id:
        return sp_error(404, "NotFound", "The requested feed was not found.", req.path_params["feedId"],
                        rate=_rate(op))
    return feed


def get_feed(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        feed = _own_feed(sim, req, "getFeed")
        if isinstance(feed, Response):
            return feed
        if feed.stock_channel:
            sim.market.record_stock_request(feed.stock_channel)
        return sp_json(_feed_json(feed), rate=_rate("getFeed"))


def cancel_feed(sim: "AmazonSim", req: Request) -> Response:
    with sim.lock:
        feed = _own_feed(sim, req, "cancelFeed")
        if isinstance(feed, Response):
            return feed
        if feed.status != "IN_QUEUE":
            return _bad("cancelFeed", f"Feed {feed.feed_id} is {feed.status} and cannot be cancelled.")
        feed.status = "CANCELLED"
        feed.ended_at = sim.now()
    return sp_json(None, 200, rate=_rate("cancelFeed"))


def get_feed_document(sim: "AmazonSim", req: Request) -> Response:
    op = "getFeedDocument"
    auth = authenticate(sim, req)
    if isinstance(auth, Response):
        return auth
    if auth.token.kind == "rdt":
        return denied()
    with sim.lock:
        doc = sim.documents.get(req.path_params["documentId"])
        if doc is None or doc.seller_id != auth.seller.seller_id:
            return sp_error(404, "NotFound", "The requested feed document was not found.",
                            req.path_params["documentId"], rate=_rate(op))
        if doc.stock_channel:
            sim.market.record_stock_request(doc.stock_channel)
        out: dict[str, Any] = {"feedDocumentId": doc.document_id, "url": document_url(sim, doc)}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
    return sp_json(out, rate=_rate(op))


def register(sim: "AmazonSim") -> None:
    routes = (
        ("POST", "/feeds/2021-06-30/documents", "createFeedDocument", create_feed_document),
        ("GET", "/feeds/2021-06-30/documents/{documentId}", "getFeedDocument", get_feed_document),
        ("POST", "/feeds/2021-06-30/feeds", "createFeed", create_feed),
        ("GET", "/feeds/2021-06-30/feeds/{feedId}", "getFeed", get_feed),
        ("DELETE", "/feeds/2021-06-30/feeds/{feedId}", "cancelFeed", cancel_feed),
    )
    for method, path, op, fn in routes:
        rate, burst = C.USAGE_PLANS[op]
        sim.op(method, path, op, account=sim.account_of, rate=rate, burst=burst)(
            (lambda f: lambda req: f(sim, req))(fn))
    # the pre-signed document URLs (S3 in production): no SP-API token, no SP-API quota
    sim.op("PUT", "/sandbox-s3/{documentId}", "uploadFeedDocument", account=lambda req: "")(
        lambda req: upload_document(sim, req))
    sim.op("GET", "/sandbox-s3/{documentId}", "downloadFeedDocument", account=lambda req: "")(
        lambda req: download_document(sim, req))


# ------------------------------------------------------------------ processing


def advance_feeds(sim: "AmazonSim", now: float) -> None:
    """Move feeds along, first in first out per seller, one in progress at a
    time; times are computed, not sampled, so the outcome does not depend on
    how often anyone looks (caller holds ``sim.lock``)."""
    active: dict[str, list[Feed]] = {}
    for feed in sorted(sim.feeds.values(), key=lambda f: (f.created_at, f.feed_id)):
        if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
            active.setdefault(feed.seller_id, []).append(feed)
    for seller_id, feeds in active.items():
        free_at = sim.feed_free_at.get(seller_id, 0.0)
        for feed in feeds:
            if feed.status == "IN_QUEUE":
                start = max(feed.created_at + sim.feed_queue_s, free_at)
                if now < start:
                    break
                feed.status = "IN_PROGRESS"
                feed.started_at = start
            end = (feed.started_at or now) + sim.feed_processing_s
            if now < end:
                break
            process(sim, feed, end)
            free_at = end
        sim.feed_free_at[seller_id] = free_at


def _report(sim: "AmazonSim", feed: Feed, issues: list[dict], processed: int, accepted: int, invalid: int,
            items: list[dict] | None, report_header: dict | None) -> dict:
    header: dict[str, Any] = {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id}
    if report_header:
        header["report"] = report_header
    summary: dict[str, Any] = {"errors": sum(1 for i in issues if i["severity"] == "ERROR"),
               "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
               "messagesProcessed": processed, "messagesAccepted": accepted, "messagesInvalid": invalid}
    out: dict[str, Any] = {"header": header, "issues": issues, "summary": summary}
    if items is not None:
        summary["itemSummary"] = {"items": len(items), "errors": 0, "warnings": 0}
        out["items"] = items
    return out


def _finish(sim: "AmazonSim", feed: Feed, status: str, report: dict, at: float) -> None:
    doc = FeedDocument(document_id=f"amzn1.tortuga.4.na.{sim.ids.uuid()}", seller_id=feed.seller_id,
                       content_type="application/json", created_at=at, kind="result", compression="GZIP",
                       body=gzip.compress(dumps(report)), stock_channel=feed.stock_channel)
    sim.documents[doc.document_id] = doc
    feed.status = status
    feed.ended_at = at
    feed.result_document_id = doc.document_id
    sim.counters[f"feeds_{status.lower()}"] += 1


def _fatal(sim: "AmazonSim", feed: Feed, message: str, at: float) -> None:
    issue = {"code": "FATAL", "severity": "ERROR", "message": message}
    _finish(sim, feed, "FATAL", _report(sim, feed, [issue], 0, 0, 0, None, None), at)


def process(sim: "AmazonSim", feed: Feed, at: float) -> None:
    doc = sim.documents.get(feed.input_document_id)
    if doc is None or doc.body is None:
        return _fatal(sim, feed, "The feed document was not uploaded before processing started.", at)
    if feed.feed_type == ORDER_ACK_FEED:
        return finish_order_ack(sim, feed, doc, at)
    if feed.feed_type == ADJUSTMENT_FEED:
        return finish_adjustment(sim, feed, doc, at)
    if len(doc.body) > C.MAX_FEED_BYTES:
        return _fatal(sim, feed, f"The feed document is {len(doc.body)} bytes; the maximum is "
                      f"{C.MAX_FEED_BYTES} bytes (10 MiB).", at)
    try:
        data = loads(doc.body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _fatal(sim, feed, f"The feed document is not valid JSON: {exc}.", at)
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict) \
            or not isinstance(data.get("messages"), list):
        return _fatal(sim, feed, "The feed document must be an object with header and messages.", at)
    header = data["header"]
    if header.get("sellerId") != feed.seller_id or header.get("version") != "2.0":
        return _fatal(sim, feed, "header.sellerId must be your selling partner id and header.version \"2.0\".",
                      at)
    messages = data["messages"]
    if not 1 <= len(messages) <= C.MAX_FEED_MESSAGES:
        return _fatal(sim, feed, f"A feed carries 1 to {C.MAX_FEED_MESSAGES} messages; this one has "
                      f"{len(messages)}.", at)
    report_header = header.get("report") if isinstance(header.get("report"), dict) else None
    included = [i for i in (report_header or {}).get("includedData", []) if i in REPORT_INCLUDED]
    issues: list[dict] = []
    accepted = invalid = 0
    seen: set[int] = set()
    touched: list[tuple[str, str]] = []
    for index, msg in enumerate(messages):
        problems, mid, sku = _check_message(msg, seen)
        if not problems:
            problems = _apply_message(sim, feed, msg, at, touched)
        for p in problems:
            row: dict[str, Any] = {}
            if mid is not None:
                row["messageId"] = mid
            if sku:
                row["sku"] = sku
            row.update({"code": p["code"], "severity": p["severity"], "message": p["message"]})
            if p.get("attributeNames"):
                row["attributeName"] = p["attributeNames"][0]
            issues.append(row)
        if any(p["severity"] == "ERROR" for p in problems):
            invalid += 1
        else:
            accepted += 1
    items = None
    if included:
        items = []
        for channel, sku in touched:
            listing = sim.listings[channel].get(sku)
            if listing is not None:
                items.append(render_listing(listing, channel.rsplit(":", 1)[1], included))
    _finish(sim, feed, "DONE", _report(sim, feed, issues, len(messages), accepted, invalid, items,
                                       report_header), at)


def _msg_issue(message: str, code: str = "4000003") -> dict:
    return {"code": code, "severity": "ERROR", "message": message, "categories": []}


def _check_message(msg: Any, seen: set[int]) -> tuple[list[dict], int | None, str | None]:
    """Structural rules of listings-feed-schema-v2 for one message."""
    if not isinstance(msg, dict):
        return [_msg_issue("Each message must be an object.")], None, None
    mid = msg.get("messageId")
    sku = msg.get("sku") if isinstance(msg.get("sku"), str) and msg.get("sku") else None
    if isinstance(mid, bool) or not isinstance(mid, int) or not 1 <= mid <= 2147483647:
        return [_msg_issue("messageId must be an integer from 1 to 2147483647.")], None, sku
    if mid in seen:
        return [_msg_issue(f"messageId {mid} is used more than once in this feed.")], mid, sku
    seen.add(mid)
    if sku is None:
        return [_msg_issue("sku is required.")], mid, None
    op = msg.get("operationType")
    if op not in OPERATIONS:
        return [_msg_issue(f"operationType must be one of {', '.join(OPERATIONS)}.")], mid, sku
    rules = {
        "UPDATE": (("productType", "attributes"), ("patches",)),
        "PARTIAL_UPDATE": (("productType", "attributes"), ("patches", "requirements")),
        "PATCH": (("productType", "patches"), ("attributes", "requirements")),
        "DELETE": ((), ("patches", "attributes", "productType", "requirements")),
    }
    need, forbid = rules[op]
    missing = [k for k in need if not msg.get(k)]
    extra = [k for k in forbid if k in msg]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"requires {', '.join(missing)}")
        if extra:
            parts.append(f"does not take {', '.join(extra)}")
        return [_msg_issue(f"{op} {' and '.join(parts)}.")], mid, sku
    return [], mid, sku


def _apply_message(sim: "AmazonSim", feed: Feed, msg: dict, at: float, touched: list) -> list[dict]:
    op, sku = msg["operationType"], msg["sku"]
    seller = sim.sellers[feed.seller_id]
    problems: list[dict] = []
    for mp_id in feed.marketplace_ids:
        channel = seller.channel(mp_id)
        if op == "PATCH":
            status, issues, _ = sim.patch_listing(channel, sku, msg["patches"], apply=True, at=at)
        elif op == "UPDATE":
            status, issues, _ = sim.put_listing(channel, sku, str(msg["productType"]), msg["attributes"],
                                                msg.get("requirements", "LISTING"), apply=True, at=at)
        elif op == "PARTIAL_UPDATE":
            status, issues, _ = sim.partial_update(channel, sku, msg["attributes"], at=at)
        else:
            status, issues = sim.delete_listing(channel, sku)
        problems.extend(i for i in issues if i not in problems)
        if status == "ACCEPTED":
            touched.append((channel, sku))
    return problems
