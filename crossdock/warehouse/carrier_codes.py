"""Carrier names -> each platform's carrier code, and tracking URLs. Pure.

crossdock speaks of carriers by one short name (``dhl``, ``royal_mail``, …).
Each platform wants its own spelling when a shipment is confirmed:

* Amazon ``confirmShipment`` ``packageDetail.carrierCode`` — values of the
  ``CarrierCode`` list in Amazon's ``amzn-base.xsd`` / the Seller Central
  shipping-confirmation template (e.g. "Royal Mail", "DHL eCommerce",
  "China Post", "4PX", "SF Express", "YamatoTransport"). An unlisted carrier
  is ``"Other"`` plus ``carrierName`` — :func:`platform_carrier` returns both.
* eBay ``shippingCarrierCode`` — Trading API ``ShippingCarrierCodeType``
  values (e.g. "DHL", "DHLEXPRESS", "RoyalMail", "ChinaPost", "YANWEN",
  "FourPX"). eBay lists no code for Yamato or SF Express; they map to "Other".
* Shopify ``trackingInfo.company`` — the names in Shopify's "supported
  tracking companies" list (e.g. "DHL Express", "Royal Mail", "Yamato (EN)");
  for these Shopify builds the tracking link itself. Yanwen is not on that
  list: the name is sent as free text and crossdock sends the URL.

Lists change: every mapping can be overridden per platform from the config
(``overrides={"hermes": "Hermes UK"}``), which also admits carriers crossdock
does not know. Mappings marked (uncertain) in the table could not be checked
against a current official list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from crossdock.errors import MappingError
from crossdock.models import Platform

GENERIC_CODES = frozenset({"Other"})

#: carrier -> (Amazon carrierCode, eBay shippingCarrierCode, Shopify company)
_TABLE: dict[str, tuple[str, str, str]] = {
    "dhl":         ("DHL", "DHL", "DHL eCommerce"),          # DHL Paket / parcel (Shopify: uncertain)
    "dhl_express": ("DHL Express", "DHLEXPRESS", "DHL Express"),
    "ups":         ("UPS", "UPS", "UPS"),
    "fedex":       ("FedEx", "FedEx", "FedEx"),
    "usps":        ("USPS", "USPS", "USPS"),
    "royal_mail":  ("Royal Mail", "RoyalMail", "Royal Mail"),
    "dpd":         ("DPD", "DPD", "DPD"),
    "gls":         ("GLS", "GLS", "GLS"),
    "hermes":      ("Hermes", "Hermes", "Hermes"),           # Hermes DE; UK is "Evri" (uncertain)
    "yamato":      ("YamatoTransport", "Other", "Yamato (EN)"),
    "sf_express":  ("SF Express", "Other", "SF Express"),
    "china_post":  ("China Post", "ChinaPost", "China Post"),
    "yanwen":      ("Yanwen", "YANWEN", "Yanwen"),           # Shopify: free text
    "4px":         ("4PX", "FourPX", "4PX"),
    "sandbox":     ("Other", "Other", "Other"),
    "other":       ("Other", "Other", "Other"),
}

#: Human names, used as Amazon ``carrierName`` when the code is "Other".
DISPLAY_NAMES: dict[str, str] = {
    "dhl": "DHL", "dhl_express": "DHL Express", "ups": "UPS", "fedex": "FedEx", "usps": "USPS",
    "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "yamato": "Yamato Transport", "sf_express": "SF Express", "china_post": "China Post",
    "yanwen": "Yanwen", "4px": "4PX", "sandbox": "crossdock sandbox", "other": "Other",
}

KNOWN_CARRIERS: tuple[str, ...] = tuple(_TABLE)

_ALIASES = {
    "dhlexpress": "dhl_express", "royalmail": "royal_mail", "rm": "royal_mail",
    "fourpx": "4px", "sf": "sf_express", "sfexpress": "sf_express", "chinapost": "china_post",
    "yamato_transport": "yamato", "kuroneko_yamato": "yamato", "evri": "hermes",
}

#: ``{tracking}`` is replaced by the URL-quoted tracking number. Best effort;
#: configurable through ``templates=``.
TRACKING_URL_TEMPLATES: dict[str, str] = {
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={tracking}",
    "dhl_express": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={tracking}",
    "ups": "https://www.ups.com/track?tracknum={tracking}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tracking}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
    "royal_mail": "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}",
    "dpd": "https://tracking.dpd.de/status/en_US/parcel/{tracking}",
    "gls": "https://gls-group.com/track/{tracking}",
    "hermes": "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation/#{tracking}",
    "yamato": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={tracking}",
    "sf_express": "https://www.sf-express.com/chn/en/waybill/waybill-detail/{tracking}",
    "china_post": "https://t.17track.net/en#nums={tracking}",
    "yanwen": "https://track.yw56.com.cn/en/querydel?nums={tracking}",
    "4px": "https://track.4px.com/#/result/0/{tracking}",
}


@dataclass(frozen=True, slots=True)
class PlatformCarrier:
    code: str                        # what goes in the platform's carrier-code field
    name: str | None = None          # carrier name to send beside a generic code ("Other")


def normalise_carrier_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def _platform(platform: Platform | str) -> Platform:
    try:
        return platform if isinstance(platform, Platform) else Platform(str(platform).lower())
    except ValueError:
        raise ValueError(f"unknown platform {platform!r}") from None


_COLUMN = {Platform.AMAZON: 0, Platform.EBAY: 1, Platform.SHOPIFY: 2}


def platform_carrier(
    platform: Platform | str,
    carrier_name: str,
    *,
    overrides: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> PlatformCarrier:
    """Code plus, when the code is generic, the carrier's name to send beside it."""
    plat = _platform(platform)
    key = normalise_carrier_name(carrier_name)
    if overrides:
        normalised = {normalise_carrier_name(k): v for k, v in overrides.items()}
        if key in normalised and normalised[key].strip():
            code = normalised[key].strip()
            return PlatformCarrier(code, (display_name or DISPLAY_NAMES.get(key) or carrier_name)
                                   if code in GENERIC_CODES else None)
    row = _TABLE.get(key)
    if row is None:
        raise MappingError(
            "XD-MAP-012", entity=f"carrier {carrier_name!r}",
            detail=f"no {plat.value} carrier code for {carrier_name!r}; known: {', '.join(KNOWN_CARRIERS)}",
            platform=plat.value,
        )
    code = row[_COLUMN[plat]]
    name = None
    if code in GENERIC_CODES:
        name = display_name or DISPLAY_NAMES.get(key, carrier_name)
    return PlatformCarrier(code, name)


def platform_carrier_code(
    platform: Platform | str,
    carrier_name: str,
    *,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The platform's code for ``carrier_name``; ``MappingError("XD-MAP-012")``
    for a carrier neither the table nor ``overrides`` knows."""
    return platform_carrier(platform, carrier_name, overrides=overrides).code


def tracking_url(
    carrier_name: str,
    tracking_number: str,
    *,
    templates: Mapping[str, str] | None = None,
) -> str | None:
    """Public tracking page for the parcel, or None when none is known."""
    key = normalise_carrier_name(carrier_name)
    merged = dict(TRACKING_URL_TEMPLATES)
    if templates:
        merged.update({normalise_carrier_name(k): v for k, v in templates.items()})
    template = merged.get(key)
    if not template:
        return None
    return template.replace("{tracking}", quote(tracking_number.strip(), safe=""))


__all__ = [
    "DISPLAY_NAMES",
    "KNOWN_CARRIERS",
    "TRACKING_URL_TEMPLATES",
    "PlatformCarrier",
    "normalise_carrier_name",
    "platform_carrier",
    "platform_carrier_code",
    "tracking_url",
]
