"""Customs: is a parcel cross-border, and what goes on its CN22 / CN23.

Pure functions over :class:`~crossdock.warehouse.parcel.Parcel`.

Rules, and where they come from:

* **Cross-border** means the parcel leaves one customs territory for another.
  The 27 EU member states form one customs union, so a parcel from DE to FR is
  *not* cross-border for customs (no declaration; VAT is handled through OSS,
  which is not a customs matter). Great Britain left the EU customs union on
  1 January 2021, so DE -> GB and GB -> DE *are* cross-border. Monaco belongs
  to the EU customs territory through France. Territories that share a
  member state's ISO code but lie outside the customs or VAT union (Canary
  Islands, Aland, Büsingen, Mount Athos, …) cannot be told apart at country
  level; an address in one of them needs a manual check.
* **CN22 vs CN23** (UPU Convention): CN22 for contents worth up to 300 SDR,
  CN23 above. The SDR moves with exchange rates, so the threshold is a table
  per currency, configurable; the defaults below are rounded *down* so a
  parcel near the limit gets the (always acceptable) CN23. A currency missing
  from the table gets CN23.
* **IOSS** (EU VAT e-commerce package, 1 July 2021): the marketplace's IOSS
  number goes on the declaration only when the parcel goes to the EU, the
  order was marketplace-facilitated (the marketplace collected the VAT), the
  intrinsic value of the consignment is at most EUR 150, and an IOSS number is
  known. Above EUR 150 import VAT and duty are paid at import, so IOSS must
  not be quoted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from crossdock.errors import MappingError, ShippingError
from crossdock.models import Money
from crossdock.warehouse.parcel import Parcel, normalise_country

log = logging.getLogger(__name__)

#: The 27 EU member states (ISO 3166-1 alpha-2; Greece is GR, the EU writes EL).
EU_MEMBER_STATES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
#: EU customs territory at country-code level: the member states plus Monaco
#: (in the EU customs and VAT area through France). GB is NOT in it since 2021.
EU_CUSTOMS_TERRITORY: frozenset[str] = EU_MEMBER_STATES | {"MC"}

#: Default CN22 ceiling (300 SDR) per currency, rounded down; configurable.
#: (uncertain: the SDR rate moves daily; GBP is Royal Mail's published figure.)
DEFAULT_CN22_THRESHOLDS: Mapping[str, Decimal] = {
    "EUR": Decimal("350"),
    "USD": Decimal("400"),
    "GBP": Decimal("270"),
    "JPY": Decimal("55000"),
}

#: IOSS ceiling: intrinsic value of the consignment, in EUR.
IOSS_LIMIT_EUR = Decimal("150")

_HS_CLEAN = re.compile(r"[\s.\-]")
_HS_VALID = re.compile(r"^\d{6,10}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class CustomsCategory(str, Enum):
    """The UPU's categories of item on CN22 / CN23."""

    GIFT = "gift"
    DOCUMENTS = "documents"
    COMMERCIAL_SAMPLE = "commercial_sample"
    RETURNED_GOODS = "returned_goods"
    SALE_OF_GOODS = "sale_of_goods"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class CustomsItem:
    description: str
    quantity: int
    net_weight_g: int                  # all units of the line
    value: Money                       # all units of the line
    hs_code: str                       # digits only, 6-10
    origin_country: str                # ISO alpha-2
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class CustomsDeclaration:
    form: str                          # "CN22" or "CN23"
    category: CustomsCategory
    items: tuple[CustomsItem, ...]
    total_value: Money
    origin_country: str                # country the parcel is posted from
    destination_country: str
    gross_weight_g: int
    ioss_number: str | None = None
    reference: str | None = None       # sender's reference (the order)
    warnings: tuple[str, ...] = ()     # "XD-…: …" notes that do not block shipping

    @property
    def currency(self) -> str:
        return self.total_value.currency

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "category": self.category.value,
            "items": [
                {
                    "description": i.description,
                    "quantity": i.quantity,
                    "net_weight_g": i.net_weight_g,
                    "value": i.value.to_dict(),
                    "hs_code": i.hs_code,
                    "origin_country": i.origin_country,
                    "sku": i.sku,
                }
                for i in self.items
            ],
            "total_value": self.total_value.to_dict(),
            "origin_country": self.origin_country,
            "destination_country": self.destination_country,
            "gross_weight_g": self.gross_weight_g,
            "ioss_number": self.ioss_number,
            "reference": self.reference,
            "warnings": list(self.warnings),
        }


def customs_territory(country_code: str) -> str:
    """The customs territory a country belongs to: ``"EU"`` or the code itself."""
    code = normalise_country(country_code)
    if not code:
        raise ValueError("country code is empty")
    return "EU" if code in EU_CUSTOMS_TERRITORY else code


def is_eu(country_code: str | None) -> bool:
    code = normalise_country(country_code)
    return code is not None and code in EU_CUSTOMS_TERRITORY


def is_cross_border(origin_country: str, destination_country: str) -> bool:
    """True when the parcel crosses a customs border.

    Same country: no. Both in the EU customs union (e.g. DE -> FR): no — the
    EU is one customs territory, so intra-EU parcels need no customs
    declaration. Anything else (CN -> DE, DE -> GB, US -> CA): yes.
    """
    return customs_territory(origin_country) != customs_territory(destination_country)


def parcel_is_cross_border(parcel: Parcel) -> bool:
    destination = parcel.destination_country
    if not destination:
        raise ShippingError(
            "XD-SHIP-004", entity=f"order {parcel.order}",
            detail="the shipping address has no country, so customs cannot be decided",
            missing=["ship_to.country_code"],
        )
    return is_cross_border(parcel.origin_country, destination)


def normalise_hs_code(code: str | None) -> str | None:
    """Digits-only HS code (``"6109.10.00"`` -> ``"61091000"``), or None if not 6-10 digits."""
    if code is None:
        return None
    cleaned = _HS_CLEAN.sub("", code)
    return cleaned if _HS_VALID.match(cleaned) else None


def cn22_threshold(currency: str, thresholds: Mapping[str, Decimal] | None = None) -> Decimal | None:
    table = DEFAULT_CN22_THRESHOLDS if thresholds is None else thresholds
    value = table.get(currency.upper())
    return None if value is None else Decimal(value)


def form_for_value(value: Money, thresholds: Mapping[str, Decimal] | None = None) -> str:
    """``"CN22"`` when ``value`` is within the 300-SDR ceiling for its currency, else ``"CN23"``."""
    limit = cn22_threshold(value.currency, thresholds)
    if limit is None:
        log.info("no CN22 threshold for %s; using CN23", value.currency)
        return "CN23"
    return "CN22" if value.amount <= limit else "CN23"


def build_customs_declaration(
    parcel: Parcel,
    *,
    category: CustomsCategory = CustomsCategory.SALE_OF_GOODS,
    cn22_thresholds: Mapping[str, Decimal] | None = None,
    to_eur: Callable[[Money], Decimal] | None = None,
    ioss_limit_eur: Decimal = IOSS_LIMIT_EUR,
    require_ioss: bool = False,
) -> CustomsDeclaration:
    """Build the CN22/CN23 data of a cross-border parcel.

    Raises ``ShippingError("XD-SHIP-004")`` naming *every* missing or invalid
    field at once (``err.context["missing"]``), so the operator fixes the
    catalogue in one go. ``to_eur`` converts the parcel value to EUR for the
    IOSS ceiling; it is only needed for non-EUR parcels that could use IOSS,
    and its absence then raises ``MappingError("XD-MAP-005")``. With
    ``require_ioss`` a marketplace-facilitated EU parcel within the ceiling but
    without an IOSS number raises ``MappingError("XD-MAP-009")``; otherwise it
    is only noted in ``warnings``.

    Call it for cross-border parcels only (:func:`parcel_is_cross_border`);
    an intra-customs-union parcel raises ``ValueError``.
    """
    if not parcel_is_cross_border(parcel):
        raise ValueError(
            f"parcel {parcel.order} from {parcel.origin_country} to {parcel.destination_country} "
            "stays in one customs territory; it needs no customs declaration"
        )
    destination = parcel.destination_country
    assert destination is not None

    missing: list[str] = []
    items: list[CustomsItem] = []
    for n, line in enumerate(parcel.lines, start=1):
        where = f"line {n} ({line.sku})"
        hs = normalise_hs_code(line.hs_code)
        if line.hs_code is None or not line.hs_code.strip():
            missing.append(f"{where}: hs_code missing")
        elif hs is None:
            missing.append(f"{where}: hs_code {line.hs_code!r} is not 6-10 digits")
        origin = line.country_of_origin
        if not origin:
            missing.append(f"{where}: country_of_origin missing")
        elif not _COUNTRY.match(origin):
            missing.append(f"{where}: country_of_origin {origin!r} is not an ISO alpha-2 code")
        if not (line.title or "").strip():
            missing.append(f"{where}: title (contents description) missing")
        if line.weight_g is None:
            missing.append(f"{where}: weight_g missing")
        if line.unit_value.amount <= 0:
            missing.append(f"{where}: declared value must be positive")
        if hs and origin and _COUNTRY.match(origin) and line.weight_g is not None:
            items.append(CustomsItem(
                description=line.title.strip(),
                quantity=line.quantity,
                net_weight_g=line.total_weight_g or 0,
                value=line.total_value,
                hs_code=hs,
                origin_country=origin,
                sku=line.sku,
            ))
    gross = parcel.total_weight_g
    if gross is None and not any("weight_g" in m for m in missing):
        missing.append("parcel: weight_g missing")
    if missing:
        raise ShippingError(
            "XD-SHIP-004", entity=f"order {parcel.order}",
            detail="; ".join(missing), missing=missing,
        )
    assert gross is not None

    total = parcel.total_value
    form = form_for_value(total, cn22_thresholds)
    ioss, warnings = _ioss_for(parcel, destination, total, to_eur=to_eur,
                               limit_eur=ioss_limit_eur, require=require_ioss)
    return CustomsDeclaration(
        form=form,
        category=category,
        items=tuple(items),
        total_value=total,
        origin_country=parcel.origin_country,
        destination_country=destination,
        gross_weight_g=max(gross, sum(i.net_weight_g for i in items)),
        ioss_number=ioss,
        reference=str(parcel.order),
        warnings=tuple(warnings),
    )


def _ioss_for(
    parcel: Parcel,
    destination: str,
    total: Money,
    *,
    to_eur: Callable[[Money], Decimal] | None,
    limit_eur: Decimal,
    require: bool,
) -> tuple[str | None, list[str]]:
    if destination not in EU_CUSTOMS_TERRITORY or not parcel.marketplace_facilitated:
        return None, []
    if total.currency == "EUR":
        value_eur = total.amount
    elif to_eur is None:
        raise MappingError(
            "XD-MAP-005", entity=f"order {parcel.order}",
            detail=f"need {total.currency}->EUR to check the EUR {limit_eur} IOSS ceiling",
        )
    else:
        value_eur = Decimal(to_eur(total))
    if value_eur > limit_eur:
        log.info("order %s: EUR %s above the IOSS ceiling; IOSS not quoted", parcel.order, value_eur)
        return None, []
    number = (parcel.tax.ioss_number or "").strip() if parcel.tax else ""
    if number:
        return number, []
    note = (f"XD-MAP-009: marketplace-facilitated EU order {parcel.order} worth EUR {value_eur} "
            "has no IOSS number; the buyer may be charged import VAT twice")
    if require:
        raise MappingError("XD-MAP-009", entity=f"order {parcel.order}",
                           detail="marketplace-facilitated EU order without IOSS number")
    log.warning("%s", note)
    return None, [note]


def declaration_if_needed(parcel: Parcel, **options: Any) -> CustomsDeclaration | None:
    """The declaration for a cross-border parcel, ``None`` for a domestic or intra-EU one."""
    return build_customs_declaration(parcel, **options) if parcel_is_cross_border(parcel) else None


__all__ = [
    "DEFAULT_CN22_THRESHOLDS",
    "EU_CUSTOMS_TERRITORY",
    "EU_MEMBER_STATES",
    "IOSS_LIMIT_EUR",
    "CustomsCategory",
    "CustomsDeclaration",
    "CustomsItem",
    "build_customs_declaration",
    "cn22_threshold",
    "customs_territory",
    "declaration_if_needed",
    "form_for_value",
    "is_cross_border",
    "is_eu",
    "normalise_hs_code",
    "parcel_is_cross_border",
]
