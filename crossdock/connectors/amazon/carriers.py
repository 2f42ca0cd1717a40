"""crossdock carrier names → Amazon ``confirmShipment`` ``packageDetail.carrierCode``.

Values of the ``CarrierCode`` list in Amazon's ``amzn-base.xsd`` / the Seller
Central shipping-confirmation template. An unlisted carrier is ``"Other"``
plus ``carrierName`` (:func:`crossdock.mapping.carriers.platform_carrier`).
"""

from __future__ import annotations

CARRIER_CODES: dict[str, str] = {
    "dhl": "DHL", "dhl_express": "DHL Express", "ups": "UPS", "fedex": "FedEx", "usps": "USPS",
    "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "yamato": "YamatoTransport", "sf_express": "SF Express", "china_post": "China Post", "yanwen": "Yanwen",
    "4px": "4PX", "sandbox": "Other", "other": "Other",
}
