"""Amazon JSON_LISTINGS_FEED: messages, feed documents (≤ 25,000 messages,
under 10 MiB), createFeed bodies and processing reports read per item."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crossdock.connectors.amazon.mapping.codec import loads_exact, to_json_bytes
from crossdock.connectors.amazon.mapping.listings import price_patches, stock_patches
from crossdock.errors import MappingError
from crossdock.models import (
    ItemResult,
    PriceUpdate,
    StockUpdate,
)

# ------------------------------------------------------------------ listings: feeds


def feed_messages(updates: Sequence[StockUpdate | PriceUpdate], *, marketplace_id: str, product_type: str,
                  first_id: int = 1) -> list[dict[str, Any]]:
    """JSON_LISTINGS_FEED PATCH messages, one per update, numbered from ``first_id``."""
    out = []
    for n, u in enumerate(updates, start=first_id):
        patches = stock_patches(u) if isinstance(u, StockUpdate) else price_patches(u, marketplace_id=marketplace_id)
        out.append({"messageId": n, "sku": u.sku, "operationType": "PATCH", "productType": product_type,
                    "patches": patches})
    return out


def listings_feed(*, seller_id: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED document (listings-feed-schema-v2)."""
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
            "messages": list(messages)}


def feed_chunks(messages: Sequence[Mapping[str, Any]], *, seller_id: str, max_messages: int = 25_000,
                max_bytes: int = 10 * 1024 * 1024) -> Iterator[tuple[bytes, list[Mapping[str, Any]]]]:
    """Split messages into feed documents within Amazon's limits: at most
    ``max_messages`` messages and ``max_bytes`` bytes each."""
    overhead = len(to_json_bytes(listings_feed(seller_id=seller_id, messages=[]))) + 2
    batch: list[Mapping[str, Any]] = []
    size = overhead
    for msg in messages:
        msg_size = len(to_json_bytes(msg)) + 1
        if overhead + msg_size > max_bytes:
            raise MappingError("XD-MAP-010", entity=f"sku {msg.get('sku')}",
                               detail=f"one feed message is {msg_size} bytes, over the {max_bytes}-byte limit")
        if batch and (len(batch) >= max_messages or size + msg_size > max_bytes):
            yield to_json_bytes(listings_feed(seller_id=seller_id, messages=batch)), batch
            batch, size = [], overhead
        batch.append(msg)
        size += msg_size
    if batch:
        yield to_json_bytes(listings_feed(seller_id=seller_id, messages=batch)), batch


def feeds_needed(n_messages: int, *, max_messages: int = 25_000) -> int:
    return math.ceil(n_messages / max_messages) if n_messages > 0 else 0


def create_feed_body(*, document_id: str, marketplace_id: str) -> dict[str, Any]:
    return {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [marketplace_id], "inputFeedDocumentId": document_id}


def decode_document(content: bytes, compression: str | None) -> Any:
    """A downloaded feed document (processing report), GZIP or plain JSON."""
    data = gzip.decompress(content) if (compression or "").upper() == "GZIP" else content
    try:
        return loads_exact(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError("XD-MAP-010", detail=f"processing report is not JSON: {exc}") from exc


def report_results(report: object, messages: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
    """Per-SKU outcome of a DONE feed from its processing report: a message
    with an ERROR issue failed (XD-PLATFORM-003); WARNING/INFO do not fail it.
    Feed-level ERROR issues (no messageId) fail every message when the summary
    accepted none."""
    if not isinstance(report, Mapping) or not isinstance(report.get("issues"), list):
        raise MappingError("XD-MAP-010", detail="processing report without issues[]")
    by_id: dict[int, list[Mapping[str, Any]]] = {}
    general = []
    for i in report["issues"]:
        if i.get("severity") != "ERROR":
            continue
        if i.get("messageId") is None:
            general.append(i)
        else:
            by_id.setdefault(int(i["messageId"]), []).append(i)
    accepted = (report.get("summary") or {}).get("messagesAccepted")
    out = []
    for msg in messages:
        errs = by_id.get(int(msg["messageId"]), [])
        if not errs and general and accepted == 0:
            errs = general
        if errs:
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs)
            out.append(ItemResult(sku=str(msg["sku"]), ok=False, code="XD-PLATFORM-003", message=text))
        else:
            out.append(ItemResult(sku=str(msg["sku"]), ok=True))
    return out
