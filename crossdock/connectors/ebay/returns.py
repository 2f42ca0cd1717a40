"""Returns on eBay: the Post-Order API's return calls (issue 18).

On eBay a return is the buyer's to open (``POST /post-order/v2/return`` is a
buyer's call): a seller's ``crossdock returns open`` keeps the RMA in
crossdock alone (the contract's default). The seller's side that crossdock
uses:

- ``GET /post-order/v2/return/search`` reads the returns opened since a
  date (``creation_date_range_from``), 200 a page, ``offset`` counting pages
  from 1; each ``ReturnSummaryType`` names the order (``orderId``), the item
  and the units (``creationInfo.item.itemId`` / ``returnQuantity``), not the
  SKU, so the engine matches the order line by its listing id;
- ``POST /post-order/v2/return/{returnId}/mark_as_received`` tells eBay the
  item is back (refused for a closed or already received return: XD-RMA-006);
  a buyer's request still ``RETURN_REQUESTED`` is approved first
  (``POST …/decide`` with ``APPROVE``): the parcel is in the seller's hands,
  so the request is granted. (eBay asks EU/UK sellers to sign ``decide``
  with a digital signature; crossdock does not sign requests yet, so there a
  request is approved in Seller Hub, and ``mark_as_received`` follows.)

Post-Order takes the user token as ``Authorization: IAF <token>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crossdock.connectors.ebay.cancel import post_order_site
from crossdock.connectors.returns_contract import PlatformReturn, ReturnLine
from crossdock.errors import PlatformError, ReturnError

if TYPE_CHECKING:
    from crossdock.connectors.ebay.client import EbayRestClient
    from crossdock.connectors.ebay.settings import EbaySettings

__all__ = ["REASONS", "ReadsReturns", "parse_return", "state_of"]

RETURN = "/post-order/v2/return"
PAGE = 200
#: eBay's ReturnReasonEnum → crossdock's neutral reasons (RETURN_REASONS); anything else is "other".
REASONS: Mapping[str, str] = {
    "ARRIVED_DAMAGED": "damaged", "DEFECTIVE_ITEM": "defective", "NOT_WORKING": "defective",
    "NOT_AS_DESCRIBED": "not_as_described", "DIFFERENT_FROM_LISTING": "not_as_described",
    "MISSING_PARTS": "not_as_described", "WRONG_ITEM": "wrong_item", "ORDERED_WRONG_ITEM": "wrong_item",
    "NO_LONGER_NEED_ITEM": "unwanted", "ORDERED_ACCIDENTALLY": "unwanted", "FOUND_BETTER_PRICE": "unwanted",
    "WRONG_SIZE": "size_fit", "DOESNT_FIT": "size_fit",
}
_CLOSED = ("CLOSED", "REPLACEMENT_CLOSED")
_RECEIVED = ("ITEM_RECEIVED",)


def state_of(summary: Mapping[str, Any]) -> str:
    """A return summary's state as crossdock's (RETURN_STATES)."""
    if str(summary.get("status")) in _RECEIVED:
        return "received"
    return "closed" if str(summary.get("state")) in _CLOSED else "open"


def _when(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_return(summary: Mapping[str, Any]) -> PlatformReturn:
    """One ``ReturnSummaryType`` as a platform-neutral return."""
    info = summary.get("creationInfo") or {}
    item = info.get("item") or {}
    note = (info.get("comments") or {}).get("content") or None
    return PlatformReturn(
        return_id=str(summary["returnId"]), platform_order_id=str(summary.get("orderId") or ""),
        state=state_of(summary), platform_status=f"{summary.get('state')}/{summary.get('status')}",
        reason=REASONS.get(str(info.get("reason")), "other"), reason_note=note,
        lines=(ReturnLine(sku=None, quantity=int(item.get("returnQuantity") or 1),
                          listing_id=str(item.get("itemId")) if item.get("itemId") else None),),
        opened_at=_when((info.get("creationDate") or {}).get("value")),
        extra={"reason": str(info.get("reason"))})


class ReadsReturns:
    """The eBay connector's returns (a mixin: the connector module is full)."""

    channel: str
    rest: EbayRestClient
    settings: EbaySettings
    reads_returns = True

    def _po(self, method: str, path: str, operation: str, **kw: Any) -> Any:
        return self.rest.call(method, path, operation, scheme="IAF",
                              marketplace=post_order_site(self.settings.marketplace_id), **kw)

    def read_returns(self, since: dt.datetime | None) -> list[PlatformReturn]:
        out: list[PlatformReturn] = []
        params = {"limit": str(PAGE)}
        if since is not None:
            params["creation_date_range_from"] = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        page = 1
        while True:
            body = self.rest.json(self._po("GET", RETURN + "/search", "searchReturns",
                                           params={**params, "offset": str(page)}), "searchReturns")
            members = body.get("members") or []
            out.extend(parse_return(m) for m in members if m.get("returnId"))
            pages = int((body.get("paginationOutput") or {}).get("totalPages") or 1)
            if page >= pages or not members:
                return out
            page += 1

    def receive_return(self, ret: PlatformReturn | str, lines: Sequence[ReturnLine], *, restock: bool) -> None:
        rid = ret if isinstance(ret, str) else ret.return_id
        entity = f"return {rid}"
        if not isinstance(ret, str) and ret.platform_status.startswith("RETURN_REQUESTED"):
            try:        # approved in Seller Hub meanwhile: fine, mark_as_received says what eBay thinks
                self._po("POST", f"{RETURN}/{rid}/decide", "decideReturn", entity=entity,
                         json={"decision": "APPROVE"})
            except PlatformError as exc:
                if exc.context.get("status") not in (400, 409):
                    raise
        try:
            self._po("POST", f"{RETURN}/{rid}/mark_as_received", "markReturnReceived", entity=entity,
                     json={"comments": {"content": "received" + (", restocked" if restock else ", written off")}})
        except PlatformError as exc:
            if exc.context.get("status") in (400, 404, 409):
                raise ReturnError("XD-RMA-006", channel=self.channel, entity=entity,
                                  detail=f"eBay refused mark_as_received: {exc.message}") from exc
            raise
