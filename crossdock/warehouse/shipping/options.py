"""The ``[rules.shipping]`` table of the configuration, read once into
:class:`ShippingOptions`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.errors import ConfigError
from crossdock.warehouse.customs import CustomsCategory

LABEL_DPIS = (203, 300)
DEFAULT_STALE_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class ShippingOptions:
    """The ``[rules.shipping]`` table of the configuration::

        [rules.shipping]
        carrier = "sandbox"            # default for `warehouse ship`
        service = "standard"
        packaging_weight_g = 60        # added to the line weights
        printer = "10.0.0.7:9100"      # default label printer (none: files only)
        printer_dpi = 203
        require_ioss = false           # true: refuse EU facilitated parcels without IOSS (XD-MAP-009)
        customs_category = "sale_of_goods"
        cn22_thresholds = { EUR = "350", GBP = "270" }
        stale_after_days = 7           # XD-SHIP-002 after this many silent days
    """

    carrier: str = "sandbox"
    service: str = "standard"
    packaging_weight_g: int = 0
    printer: str | None = None
    printer_dpi: int = 203
    require_ioss: bool = False
    customs_category: CustomsCategory = CustomsCategory.SALE_OF_GOODS
    cn22_thresholds: Mapping[str, Decimal] | None = None
    stale_after_days: float = DEFAULT_STALE_DAYS

    @classmethod
    def from_config(cls, cfg: Any) -> ShippingOptions:
        raw = ((getattr(cfg, "rules", None) or {}).get("shipping")) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError("XD-CFG-003", detail="rules.shipping must be a table")
        where = "rules.shipping."
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError("XD-CFG-003",
                              detail=f"{where}{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")

        def get(key: str, typ: type | tuple[type, ...], default: Any) -> Any:
            value = raw.get(key, default)
            if value is not default and (not isinstance(value, typ) or isinstance(value, bool) and typ is not bool):
                raise ConfigError("XD-CFG-003", detail=f"{where}{key} has the wrong type: {value!r}")
            return value

        try:
            category = CustomsCategory(get("customs_category", str, CustomsCategory.SALE_OF_GOODS.value))
        except ValueError:
            raise ConfigError("XD-CFG-003", detail=f"{where}customs_category must be one of "
                                                   f"{', '.join(c.value for c in CustomsCategory)}") from None
        thresholds = get("cn22_thresholds", dict, None)
        if thresholds is not None:
            try:
                thresholds = {str(k).upper(): Decimal(str(v)) for k, v in thresholds.items()}
            except InvalidOperation:
                raise ConfigError("XD-CFG-003", detail=f"{where}cn22_thresholds values must be amounts") from None
        dpi = get("printer_dpi", int, 203)
        if dpi not in LABEL_DPIS:
            raise ConfigError("XD-CFG-003", detail=f"{where}printer_dpi must be one of {LABEL_DPIS}")
        packaging = get("packaging_weight_g", int, 0)
        stale = float(get("stale_after_days", (int, float), DEFAULT_STALE_DAYS))
        if packaging < 0 or stale <= 0:
            raise ConfigError("XD-CFG-003", detail=f"{where}packaging_weight_g must be >= 0 and "
                                                   "stale_after_days > 0")
        return cls(carrier=get("carrier", str, "sandbox"), service=get("service", str, "standard"),
                   packaging_weight_g=packaging, printer=get("printer", str, None), printer_dpi=dpi,
                   require_ioss=bool(get("require_ioss", bool, False)), customs_category=category,
                   cn22_thresholds=thresholds, stale_after_days=stale)


__all__ = ["DEFAULT_STALE_DAYS", "LABEL_DPIS", "ShippingOptions"]
