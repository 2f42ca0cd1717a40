"""eBay connector: Sell Fulfillment + Inventory REST (httpx) and Trading XML (ebaysdk)."""

from __future__ import annotations

from crossdock.connectors.ebay.connector import EbayConnector
from crossdock.connectors.ebay.inspect import inspect_payload
from crossdock.connectors.ebay.mapping import ListingRef
from crossdock.connectors.ebay.settings import EbaySettings

__all__ = ["EbayConnector", "EbaySettings", "ListingRef", "inspect_payload"]
