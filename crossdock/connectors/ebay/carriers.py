"""crossdock carrier names → eBay ``shippingCarrierCode``.

Trading API ``ShippingCarrierCodeType`` values. eBay lists no code for Yamato
or SF Express; they map to "Other". Hermes DE; the UK's is "Evri" (uncertain).
"""

from __future__ import annotations

CARRIER_CODES: dict[str, str] = {
    "dhl": "DHL", "dhl_express": "DHLEXPRESS", "ups": "UPS", "fedex": "FedEx", "usps": "USPS",
    "royal_mail": "RoyalMail", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "yamato": "Other", "sf_express": "Other", "china_post": "ChinaPost", "yanwen": "YANWEN",
    "4px": "FourPX", "sandbox": "Other", "other": "Other",
}
