"""The catalogue file format: its columns, and one pure check per column.

A catalogue file (``crossdock catalog import``/``export``) has these columns;
only ``sku`` and ``title`` are required:

=====================  ==================================================================
column                 value
=====================  ==================================================================
``sku``                up to 255 characters (Shopify's limit), no control characters
``title``              up to 500 characters, no control characters
``description``        text (may hold line breaks)
``category``           up to 200 characters
``brand``              up to 200 characters
``attributes``         a JSON object (in CSV: its JSON text)
``images``             http(s) URLs; in CSV separated by ``|``, in JSON a list
``weight_g``           whole grams, 0 .. 2,147,483,647
``hs_code``            6 to 10 digits (``6109.10.00`` is read as ``61091000``)
``country_of_origin``  ISO 3166 two-letter code (``UK`` is read as ``GB``)
``base_price``         >= 0, at most 4 decimals and 15 significant digits
``base_currency``      ISO 4217 code
``safety_stock``       whole units held back from every channel, 0 .. 2,147,483,647
``aliases``            SKUs channels list it under: ``OLD-1|OLD-2@ebay-us`` (``@CHANNEL``: on
                       that channel only); in JSON also a list
``bundle``             its components, when it is a bundle: ``COMP-A:2|COMP-B:1``; in JSON
                       also an object {component: quantity}
=====================  ==================================================================

An empty CSV cell or a JSON ``null`` clears the value (description,
attributes, images and safety stock go back to empty / 0). Every check
returns the value as stored or raises :class:`BadValue` with its code; the
limits are those of :class:`crossdock.db.models.Product`, so nothing that
passes here can overflow a column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from crossdock.errors import ConfigError
from crossdock.mapping.marketplaces import normalise_country
from crossdock.mapping.money import is_known_currency

COLUMNS: tuple[str, ...] = ("sku", "title", "description", "category", "brand", "attributes", "images",
                            "weight_g", "hs_code", "country_of_origin", "base_price", "base_currency",
                            "safety_stock", "aliases", "bundle")
REQUIRED: tuple[str, ...] = ("sku", "title")

SKU_MAX = 255                             # crossdock.db.models.SKU_MAX: what orders and listings carry
TITLE_MAX = 500
CATEGORY_MAX = 200
BRAND_MAX = 200
URL_MAX = 2048
INT_MAX = 2**31 - 1                       # Integer columns (weight_g, safety_stock)
PRICE_INT_DIGITS = 14                     # Numeric(18, 4): 14 digits before the point …
PRICE_PLACES = Decimal("0.0001")          # … and 4 after it
PRICE_SIGNIFICANT = 15                    # what SQLite (a float underneath) keeps exactly
IMAGE_SEPARATOR = "|"

INVALID = "XD-INV-009"                    # a value that does not fit
FORMAT = "XD-INV-008"                     # the file's shape (columns, rows that are not objects)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"^[0-9]+$")
_HS_CLEAN = re.compile(r"[\s.]")
_HS_VALID = re.compile(r"^[0-9]{6,10}$")


class BadValue(ValueError):
    """A value that cannot be stored; ``code`` is its XD code."""

    def __init__(self, message: str, code: str = INVALID) -> None:
        super().__init__(message)
        self.code = code


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, *, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadValue(f"{what} must be text, got {type(value).__name__}")
    return str(value)


def _line(value: Any, *, limit: int, what: str) -> str:
    text = _text(value, what=what).strip()
    if len(text) > limit:
        raise BadValue(f"{len(text)} characters, at most {limit} fit")
    if _CONTROL.search(text):
        raise BadValue("contains a line break or another control character")
    return text


def sku(value: Any) -> str:
    if _empty(value):
        raise BadValue("is required")
    return _line(value, limit=SKU_MAX, what="sku")


def title(value: Any) -> str:
    if _empty(value):
        raise BadValue("is required")
    return _line(value, limit=TITLE_MAX, what="title")


def description(value: Any) -> str:
    if value is None:
        return ""
    text = _text(value, what="description")
    if "\x00" in text:
        raise BadValue("contains a NUL character")
    return text


def _optional_line(limit: int, what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if _empty(value) else _line(value, limit=limit, what=what)

    return check


category = _optional_line(CATEGORY_MAX, "category")
brand = _optional_line(BRAND_MAX, "brand")


def _no_constants(name: str) -> Any:
    raise BadValue(f"{name} is not a JSON number")


def _plain_json(value: Any, depth: int = 0) -> Any:
    """JSON-file values as JSON columns store them: Decimals (ijson's numbers)
    as int or float, nothing that is not finite."""
    if depth > 32:
        raise BadValue("nested more than 32 levels deep")
    if isinstance(value, Mapping):
        return {str(k): _plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v, depth + 1) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BadValue(f"{value} is not a finite number")
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadValue(f"{value} is not a finite number")
    return value


def attributes(value: Any) -> dict[str, Any]:
    if _empty(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_no_constants)
        except BadValue:
            raise
        except ValueError as exc:
            raise BadValue(f"is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise BadValue(f"must be a JSON object, got {type(value).__name__}")
    return _plain_json(value)


def _url(text: str) -> str:
    url = text.strip()
    if len(url) > URL_MAX:
        raise BadValue(f"image URL of {len(url)} characters, at most {URL_MAX}")
    if not url or any(c.isspace() for c in url) or IMAGE_SEPARATOR in url:
        raise BadValue(f"image {url!r} is not a URL (no spaces or '|')")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadValue(f"image {url!r} is not an http(s) URL")
    return url


def images(value: Any) -> list[str]:
    if _empty(value):
        return []
    if isinstance(value, str):
        items = value.split(IMAGE_SEPARATOR)
    elif isinstance(value, list):
        items = value
    else:
        raise BadValue(f"must be URLs separated by '|' or a list, got {type(value).__name__}")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise BadValue(f"image {item!r} is not text")
        if item.strip():
            out.append(_url(item))
    return out


def _whole(value: Any, *, what: str) -> int | None:
    if _empty(value):
        return None
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.match(value.strip().lstrip("+")):
        digits = value.strip().lstrip("+")
        if len(digits) > 12:
            raise BadValue(f"{value.strip()} is out of range (0 .. {INT_MAX})")
        number = int(digits)
    else:
        raise BadValue(f"{value!r} is not a whole number >= 0")
    if not 0 <= number <= INT_MAX:
        raise BadValue(f"{number} is out of range (0 .. {INT_MAX})")
    return number


def weight_g(value: Any) -> int | None:
    return _whole(value, what="weight_g")


def safety_stock(value: Any) -> int:
    return _whole(value, what="safety_stock") or 0


def hs_code(value: Any) -> str | None:
    if _empty(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadValue(f"{value!r} is not an HS code")
    cleaned = _HS_CLEAN.sub("", str(value))
    if not _HS_VALID.match(cleaned):
        raise BadValue(f"{str(value).strip()!r} is not an HS code of 6 to 10 digits")
    return cleaned


def country_of_origin(value: Any) -> str | None:
    if _empty(value):
        return None
    try:
        return normalise_country(value)
    except ConfigError:
        raise BadValue(f"{value!r} is not a two-letter country code") from None


def base_price(value: Any) -> Decimal | None:
    if _empty(value):
        return None
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a price")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise BadValue(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise BadValue(f"{value!r} is not a finite number")
    if amount < 0:
        raise BadValue(f"{amount} is negative")
    if amount >= Decimal(10) ** PRICE_INT_DIGITS:
        raise BadValue(f"{value} is too large (at most {PRICE_INT_DIGITS} digits before the decimal point)")
    stored = amount.quantize(PRICE_PLACES)
    if stored != amount:
        raise BadValue(f"{value} has more than 4 decimal places")
    if len(stored.normalize().as_tuple().digits) > PRICE_SIGNIFICANT:
        raise BadValue(f"{value} has more than {PRICE_SIGNIFICANT} significant digits")
    return stored


def base_currency(value: Any) -> str | None:
    if _empty(value):
        return None
    if not isinstance(value, str) or not is_known_currency(value.strip()):
        raise BadValue(f"{value!r} is not an ISO 4217 currency code")
    return value.strip().upper()


def aliases(value: Any) -> list[tuple[str | None, str]]:
    from crossdock.catalog.kits import parse_aliases

    try:
        out = parse_aliases(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from None
    for _, alias in out:
        _line(alias, limit=SKU_MAX, what="alias")
    return out


def bundle(value: Any) -> dict[str, int] | None:
    from crossdock.catalog.kits import parse_bundle

    try:
        return parse_bundle(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


#: Columns that are not product columns: applied once every row of the file is in (catalog.kits).
KIT_COLUMNS = ("aliases", "bundle")

CHECKS: dict[str, Callable[[Any], Any]] = {
    "sku": sku, "title": title, "description": description, "category": category, "brand": brand,
    "attributes": attributes, "images": images, "weight_g": weight_g, "hs_code": hs_code,
    "country_of_origin": country_of_origin, "base_price": base_price, "base_currency": base_currency,
    "safety_stock": safety_stock, "aliases": aliases, "bundle": bundle,
}


def check_row(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str | None, str, str]]]:
    """The stored values of the columns ``raw`` has, and its problems as
    (column, code, message). Unknown columns are a problem (XD-INV-008);
    ``sku`` and ``title`` must be there and not empty."""
    values: dict[str, Any] = {}
    problems: list[tuple[str | None, str, str]] = []
    unknown = [k for k in raw if k not in CHECKS]
    if unknown:
        problems.append((None, FORMAT, f"unknown column(s) {', '.join(repr(k) for k in unknown)}; "
                                       f"known: {', '.join(COLUMNS)}"))
    for column in REQUIRED:
        if column not in raw:
            problems.append((column, INVALID, "is required"))
    for column, value in raw.items():
        check = CHECKS.get(column)
        if check is None:
            continue
        try:
            values[column] = check(value)
        except BadValue as exc:
            problems.append((column, exc.code, str(exc)))
    if values.get("base_price") is not None and "base_currency" in raw and values.get("base_currency") is None \
            and not any(c == "base_currency" for c, _, _ in problems):
        problems.append(("base_currency", INVALID, "a base_price needs its base_currency"))
    return values, problems


# ------------------------------------------------------------------ export form
def price_text(amount: Decimal | None) -> str | None:
    """A stored price as text: at least two decimals, no trailing zeros beyond (12.50, 0.1234)."""
    if amount is None:
        return None
    text = format(Decimal(amount).quantize(PRICE_PLACES), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def attributes_text(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":")) \
        if value else ""


__all__ = ["CHECKS", "COLUMNS", "REQUIRED", "BadValue", "attributes_text", "check_row", "price_text"]
