"""Carrier names -> a platform's carrier code, and tracking URLs. Pure.

crossdock speaks of carriers by one short name (``dhl``, ``royal_mail``, …).
Each platform wants its own spelling when a shipment is confirmed; each
declares its table in its own folder (``PlatformSpec.carrier_codes``, e.g.
``crossdock/connectors/<platform>/carriers.py``). A carrier whose code is
generic (``"Other"``) goes out with its name beside the code —
:func:`platform_carrier` returns both.

Lists change: every mapping can be overridden per channel from the config
(``overrides={"hermes": "Hermes UK"}``), which also admits carriers crossdock
does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from crossdock.errors import MappingError

GENERIC_CODES = frozenset({"Other"})

#: Human names, used as Amazon ``carrierName`` when the code is "Other".
DISPLAY_NAMES: dict[str, str] = {
    "dhl": "DHL", "dhl_express": "DHL Express", "ups": "UPS", "fedex": "FedEx", "usps": "USPS",
    "royal_mail": "Royal Mail", "dpd": "DPD", "gls": "GLS", "hermes": "Hermes",
    "yamato": "Yamato Transport", "sf_express": "SF Express", "china_post": "China Post",
    "yanwen": "Yanwen", "4px": "4PX", "sandbox": "crossdock sandbox", "other": "Other",
}

#: The carriers crossdock knows by name (a platform's table maps each to its code).
KNOWN_CARRIERS: tuple[str, ...] = tuple(DISPLAY_NAMES)

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


def _codes(platform: str | CarrierTable) -> CarrierTable:
    if isinstance(platform, CarrierTable):
        return platform
    from crossdock.platforms import registry

    spec = registry.find(str(platform).lower())
    if spec is None:
        raise ValueError(f"unknown platform {platform!r}")
    return CarrierTable(spec.name, spec.carrier_codes, spec.generic_carrier_codes)


@dataclass(frozen=True)
class CarrierTable:
    """One platform's carrier codes (``carrier name -> code``) and its generic codes."""

    platform: str
    codes: Mapping[str, str]
    generic: frozenset[str] = GENERIC_CODES


def platform_carrier(
    platform: str | CarrierTable,
    carrier_name: str,
    *,
    overrides: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> PlatformCarrier:
    """Code plus, when the code is generic, the carrier's name to send beside it.
    ``platform``: a platform's name (its table from the registry) or its table."""
    table = _codes(platform)
    key = normalise_carrier_name(carrier_name)
    if overrides:
        normalised = {normalise_carrier_name(k): v for k, v in overrides.items()}
        if key in normalised and normalised[key].strip():
            code = normalised[key].strip()
            return PlatformCarrier(code, (display_name or DISPLAY_NAMES.get(key) or carrier_name)
                                   if code in table.generic else None)
    found = table.codes.get(key)
    if found is None:
        raise MappingError(
            "XD-MAP-012", entity=f"carrier {carrier_name!r}",
            detail=f"no {table.platform} carrier code for {carrier_name!r}; known: {', '.join(table.codes)}",
            platform=table.platform,
        )
    code = found
    name = None
    if code in table.generic:
        name = display_name or DISPLAY_NAMES.get(key, carrier_name)
    return PlatformCarrier(code, name)


def platform_carrier_code(
    platform: str | CarrierTable,
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
    "CarrierTable",
    "KNOWN_CARRIERS",
    "TRACKING_URL_TEMPLATES",
    "PlatformCarrier",
    "normalise_carrier_name",
    "platform_carrier",
    "platform_carrier_code",
    "tracking_url",
]
