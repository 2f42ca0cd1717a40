"""A seller's cancellation on Amazon (issue 18).

SP-API has no cancel call for seller-fulfilled orders: a seller cancels with
the ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` feed, an XML ``AmazonEnvelope`` of one
``OrderAcknowledgement`` with ``StatusCode`` Failure and, per item, its
``AmazonOrderItemCode`` and a ``CancelReason``. It goes through the Feeds API
as the listings feeds do (createFeedDocument, upload, createFeed, getFeed until
DONE, getFeedDocument), and its processing report is the XML
``ProcessingReport``: a ``Result`` with ResultCode Error means Amazon did not
cancel (XD-ORD-012).

A Failure acknowledgement after an item shipped refunds the whole order, so
the order is read first and a shipped, partly shipped or cancelled one is
refused here without sending anything.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from crossdock.connectors.contract import platform_reason
from crossdock.errors import MappingError, NetError, OrderError, PlatformError
from crossdock.models import OrderStatus

if TYPE_CHECKING:
    from crossdock.clock import Clock
    from crossdock.connectors.amazon.client import SpApiClient
    from crossdock.connectors.amazon.settings import AmazonSettings
    from crossdock.models import Order

__all__ = ["CANCEL_REASONS", "ORDER_ACK_FEED", "CancelsOrders", "acknowledgement_failure", "report_errors"]

ORDER_ACK_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"

#: crossdock's neutral reasons (contract.CANCEL_REASONS) -> the OrderAcknowledgement CancelReason.
CANCEL_REASONS: Mapping[str, str] = {
    "out_of_stock": "NoInventory",
    "buyer_asked": "BuyerCanceled",
    "address_issue": "ShippingAddressUndeliverable",
    "other": "GeneralAdjustment",
}


def acknowledgement_failure(*, seller_id: str, order_id: str, item_codes: list[str], reason: str) -> bytes:
    """The feed document cancelling ``order_id``: StatusCode Failure, each item with the reason."""
    value = platform_reason(CANCEL_REASONS, reason, order_id)
    items = "".join(f"<Item><AmazonOrderItemCode>{escape(code)}</AmazonOrderItemCode>"
                    f"<CancelReason>{value}</CancelReason></Item>" for code in item_codes)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
            f"<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{escape(seller_id)}"
            "</MerchantIdentifier></Header><MessageType>OrderAcknowledgement</MessageType>"
            f"<Message><MessageID>1</MessageID><OrderAcknowledgement><AmazonOrderID>{escape(order_id)}"
            f"</AmazonOrderID><StatusCode>Failure</StatusCode>{items}</OrderAcknowledgement></Message>"
            "</AmazonEnvelope>").encode("utf-8")


def report_errors(content: bytes) -> list[str]:
    """The ResultDescriptions of a ProcessingReport's Error results (none: applied)."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise MappingError("XD-MAP-010", detail=f"processing report is not XML: {exc}") from exc
    out = []
    for result in root.iter("Result"):
        if (result.findtext("ResultCode") or "").strip() == "Error":
            code = (result.findtext("ResultMessageCode") or "").strip()
            out.append(f"{code}: {(result.findtext('ResultDescription') or '').strip()}")
    return out


class CancelsOrders:
    """The Amazon connector's ``cancel_order`` (a mixin: the connector module is full)."""

    channel: str
    client: SpApiClient
    settings: AmazonSettings
    clock: Clock
    _sleep: Callable[[float], None]

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order | None: ...

    def cancel_order(self, platform_order_id: str, reason: str) -> None:
        entity = f"order {platform_order_id}"
        order = self.fetch_order(platform_order_id)
        if order is None:
            raise PlatformError("XD-PLATFORM-002", channel=self.channel, entity=entity, detail="order not found")
        if order.status not in (OrderStatus.PENDING, OrderStatus.UNSHIPPED) or any(
                ln.quantity_shipped for ln in order.lines):
            raise OrderError("XD-ORD-012", channel=self.channel, entity=entity,
                             detail=f"Amazon shows it {order.platform_status}: not cancelled (a cancellation "
                                    "after a shipment would refund the whole order)")
        s = self.settings
        content = acknowledgement_failure(seller_id=s.seller_id, order_id=platform_order_id, reason=reason,
                                          item_codes=[ln.platform_line_id for ln in order.lines])
        doc = self.client.create_feed_document(XML_CONTENT_TYPE)
        self.client.upload_document(doc["url"], content, XML_CONTENT_TYPE)
        feed = self.client.create_feed({"feedType": ORDER_ACK_FEED, "marketplaceIds": [s.marketplace_id],
                                        "inputFeedDocumentId": doc["feedDocumentId"]})
        errors = report_errors(self._ack_report(str(feed["feedId"])))
        if errors:
            raise OrderError("XD-ORD-012", channel=self.channel, entity=entity,
                             detail="Amazon did not cancel it: " + "; ".join(errors[:3]))

    def _ack_report(self, feed_id: str) -> bytes:
        """Wait for the feed to finish (as ``feed_report``); its XML processing report."""
        s = self.settings
        deadline = self.clock.timestamp() + s.feed_timeout_s
        while True:
            feed: Mapping[str, Any] = self.client.get_feed(feed_id)
            status = feed.get("processingStatus")
            if status in ("DONE", "FATAL") and feed.get("resultFeedDocumentId"):
                doc = self.client.get_feed_document(str(feed["resultFeedDocumentId"]))
                content = self.client.download_document(doc["url"])
                if (doc.get("compressionAlgorithm") or "").upper() == "GZIP":
                    content = gzip.decompress(content)
                if status == "DONE":
                    return content
                raise PlatformError("XD-PLATFORM-004", channel=self.channel, entity=f"feed {feed_id}",
                                    detail=f"feed {feed_id} ended FATAL: {'; '.join(report_errors(content)[:3])}")
            if status in ("FATAL", "CANCELLED"):
                raise PlatformError("XD-PLATFORM-004", channel=self.channel, entity=f"feed {feed_id}",
                                    detail=f"feed {feed_id} ended {status}")
            if self.clock.timestamp() > deadline:
                raise NetError("XD-NET-002", channel=self.channel, entity=f"feed {feed_id}",
                               detail=f"feed {feed_id} still {status} after {s.feed_timeout_s:.0f} s")
            self._sleep(self.clock.to_real_s(s.feed_poll_s))
