"""eBay: Sell Fulfillment + Inventory REST (httpx) and Trading XML (ebaysdk).
The platform folder (``PLATFORM``, see :mod:`.platform`) and its connector."""

from __future__ import annotations

from crossdock.connectors.ebay.connector import EbayConnector
from crossdock.connectors.ebay.inspect import inspect_payload
from crossdock.connectors.ebay.mapping import ListingRef
from crossdock.connectors.ebay.platform import PLATFORM
from crossdock.connectors.ebay.settings import EbaySettings

__all__ = ["PLATFORM", "EbayConnector", "EbaySettings", "ListingRef", "inspect_payload"]
