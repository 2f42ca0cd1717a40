"""crossdock carrier names → Shopify ``trackingInfo.company``.

The names in Shopify's "supported tracking companies" list; for these Shopify
builds the tracking link itself. Yanwen is not on that list: the name is sent
as free text and crossdock sends the URL. DHL parcel as "DHL eCommerce" is
uncertain.
"""

from __future__ import annotations

CARRIER_CODES: dict[str, str] = {
    "dhl": "DHL eCommerce", "dhl_express": "DHL Express", "ups": "UPS", "fedex": "FedEx", "usps": "USPS",
    "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "yamato": "Yamato (EN)", "sf_express": "SF Express", "china_post": "China Post", "yanwen": "Yanwen",
    "4px": "4PX", "sandbox": "Other", "other": "Other",
}
