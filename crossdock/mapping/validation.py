"""Check a listing against the platform's rules before any call is made.

:func:`validate_listing` returns *every* problem at once as
:class:`ValidationIssue` (code, field, message), in a fixed order: title,
price and currency, category, attributes, images. :func:`validate_or_raise`
raises MappingError with the first issue's code and all issues in
``context["issues"]``.

Codes: XD-MAP-001 required attribute missing, 002 title too long, 003 price
missing or not above zero, 004 currency is not the marketplace's, 007 no
category mapping, 008 image count or size.

Each platform declares its default rules in its own folder (its
``PlatformSpec.listing_rules``; :data:`DEFAULT_RULES` reads them all through the
platform registry), each overridable per channel with
:func:`platform_rules_from_config`. For example Amazon: title ≤ 200 characters,
≤ 9 images, requires ``brand``, ``item_name`` (or the title), ``product_type``
(or a category mapping) and ``condition_type`` (or ``condition``).

A required name ``a|b`` is met by either. A name is met by a non-empty
attribute (after the channel's attribute mapping) or a non-empty product
field of that name (``title``, ``description``, ``hs_code`` …). Images are
URLs (size unknown, only counted) or dicts ``{url, width, height}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.attributes import AttributeMapping, map_attributes
from crossdock.mapping.categories import CategoryMapping
from crossdock.mapping.marketplaces import marketplace_currency
from crossdock.mapping.money import normalise_currency
from crossdock.models import Money, Product
from crossdock.platforms.registry import RegistryView

__all__ = [
    "DEFAULT_RULES",
    "ListingChannel",
    "PlatformRules",
    "ValidationIssue",
    "platform_rules_from_config",
    "validate_listing",
    "validate_or_raise",
]

_PRODUCT_FIELDS = frozenset(f.name for f in fields(Product)) - {"attributes", "images"}


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    code: str        # XD-MAP-…
    field: str       # "title", "price", "attributes.brand", "images[2]", …
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class PlatformRules:
    platform: str
    title_max_chars: int | None = None
    min_images: int = 0
    max_images: int | None = None
    min_image_px: int | None = None                 # on the longest side
    required_attributes: tuple[str, ...] = ()       # "a|b" = either
    required_by_category: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    category_attribute: str | None = None           # met by a category mapping


#: platform name → its default rules (each platform's ``PlatformSpec.listing_rules``).
DEFAULT_RULES: Mapping[str, PlatformRules] = RegistryView(
    lambda spec: {spec.name: spec.listing_rules or PlatformRules(spec.name)})


@dataclass(frozen=True, slots=True)
class ListingChannel:
    """What validation needs to know about the channel a listing goes to."""

    channel: str
    platform: str
    currency: str                                   # the marketplace's currency
    categories: CategoryMapping | None = None
    attributes: AttributeMapping | None = None
    rules: PlatformRules | None = None              # None → DEFAULT_RULES[platform]

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", str(self.platform))
        object.__setattr__(self, "currency",
                           normalise_currency(self.currency, where=f"channels.{self.channel}.currency"))

    @classmethod
    def for_marketplace(cls, channel: str, platform: str, marketplace_id: str,
                        **kwargs: Any) -> ListingChannel:
        """A channel whose currency is its marketplace's own."""
        return cls(channel, platform, marketplace_currency(platform, marketplace_id), **kwargs)

    @property
    def effective_rules(self) -> PlatformRules:
        return self.rules or _default_rules(self.platform)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set)):
        return bool(value)
    return True


def validate_listing(product: Product, channel: ListingChannel, *,
                     price: Money | None = None) -> list[ValidationIssue]:
    """Every problem that would make the platform reject this listing.

    ``price`` is the price to be sent (normally from :func:`compute_price`);
    without it the product's own price is checked.
    """
    rules = channel.effective_rules
    name = channel.platform
    issues: list[ValidationIssue] = []

    def add(code: str, where: str, message: str) -> None:
        issues.append(ValidationIssue(code, where, message))

    # -- title
    title = product.title or ""
    if not title.strip():
        add("XD-MAP-001", "title", "the title is empty")
    elif rules.title_max_chars is not None and len(title) > rules.title_max_chars:
        add("XD-MAP-002", "title", f"title has {len(title)} characters; {name} allows "
                                   f"{rules.title_max_chars}")

    # -- price and currency
    checked = price if price is not None else product.price
    if checked is None:
        add("XD-MAP-003", "price", "no price")
    else:
        if checked.amount <= 0:
            add("XD-MAP-003", "price", f"price {checked.amount} {checked.currency} is not above zero")
        if checked.currency != channel.currency:
            add("XD-MAP-004", "price.currency", f"price is in {checked.currency}; channel "
                                                f"{channel.channel} sells in {channel.currency}")

    # -- category
    platform_category = channel.categories.lookup(product.category) if channel.categories else None
    category_reported = False

    def category_issue(needed_for: str) -> None:
        nonlocal category_reported
        if category_reported:
            return
        category_reported = True
        shown = repr(product.category) if product.category else "the product has no category and it"
        add("XD-MAP-007", "category", f"{shown} has no mapping on channel {channel.channel} "
                                      f"({name} needs {needed_for}: add a category mapping or "
                                      f"a {needed_for} attribute)")

    # -- attributes
    attrs: dict[str, Any]
    reported: set[str] = set()
    if channel.attributes is not None:
        try:
            attrs = map_attributes(product, channel.attributes, channel=channel.channel)
        except MappingError as exc:
            for target in exc.context.get("missing", []):
                reported.add(target)
                add("XD-MAP-001", f"attributes.{target}",
                    f"required attribute {target} cannot be filled by the attribute mapping")
            relaxed = AttributeMapping(
                rules=tuple(replace(r, required=False) for r in channel.attributes.rules),
                passthrough=channel.attributes.passthrough)
            attrs = map_attributes(product, relaxed, channel=channel.channel)
    else:
        attrs = dict(product.attributes)

    required = list(rules.required_attributes)
    if platform_category is not None:
        required += [r for r in rules.required_by_category.get(platform_category, ())
                     if r not in required]
    for spec in required:
        alternatives = [a.strip() for a in spec.split("|") if a.strip()]
        if not alternatives or any(a in reported for a in alternatives):
            continue
        met = False
        for alt in alternatives:
            if _present(attrs.get(alt)):
                met = True
            elif alt in _PRODUCT_FIELDS and _present(getattr(product, alt)):
                met = True
            elif alt == rules.category_attribute and platform_category is not None:
                met = True
            if met:
                break
        if met:
            continue
        if rules.category_attribute in alternatives:
            category_issue(rules.category_attribute or "a category")
        else:
            add("XD-MAP-001", f"attributes.{alternatives[0]}",
                f"{name} requires {' or '.join(alternatives)}")

    # -- images
    images = list(product.images or [])
    if len(images) < rules.min_images:
        add("XD-MAP-008", "images", f"{len(images)} image(s); {name} needs at least "
                                    f"{rules.min_images}")
    if rules.max_images is not None and len(images) > rules.max_images:
        add("XD-MAP-008", "images", f"{len(images)} images; {name} allows at most "
                                    f"{rules.max_images}")
    for i, image in enumerate(images):
        problem = _image_problem(image, rules.min_image_px, name)
        if problem:
            add("XD-MAP-008", f"images[{i}]", problem)
    return issues


def _image_problem(image: Any, min_px: int | None, platform: str) -> str | None:
    if isinstance(image, str):
        return None if image.strip() else "empty image URL"
    if not isinstance(image, Mapping):
        return f"not an image URL or {{url, width, height}} entry: {image!r}"
    url = image.get("url") or image.get("src")
    if not isinstance(url, str) or not url.strip():
        return "image entry without a url"
    sizes = []
    for key in ("width", "height"):
        value = image.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return f"image {key} {value!r} is not a positive whole number of pixels"
        sizes.append(value)
    if min_px is not None and sizes and max(sizes) < min_px:
        return (f"image is {max(sizes)} px on its longest side; {platform} needs at least "
                f"{min_px} px")
    return None


def validate_or_raise(product: Product, channel: ListingChannel, *,
                      price: Money | None = None) -> None:
    """MappingError with the first issue's code and every issue in context."""
    issues = validate_listing(product, channel, price=price)
    if issues:
        summary = "; ".join(f"{i.field}: {i.message}" for i in issues)
        raise MappingError(issues[0].code, channel=channel.channel, entity=f"sku {product.sku}",
                           detail=f"{len(issues)} problem(s): {summary}",
                           issues=[i.to_dict() for i in issues])


# -------------------------------------------------------------------- configuration
_INT_KEYS = ("title_max_chars", "min_images", "max_images", "min_image_px")
_KEYS = (*_INT_KEYS, "required_attributes", "required_by_category", "category_attribute")


def _names(value: Any, *, where: str) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a list of attribute names",
                          key=where)
    return tuple(v.strip() for v in value)


def _default_rules(platform: str) -> PlatformRules:
    """The platform's own rules; XD-CFG-003 for an unknown platform."""
    from crossdock.platforms import registry

    spec = registry.platform(platform)
    return spec.listing_rules or PlatformRules(spec.name)


def platform_rules_from_config(platform: str, d: Mapping[str, Any] | None, *,
                               where: str) -> PlatformRules:
    """The platform's default rules with the keys given in ``d`` replaced.

    ``required_by_category`` is a table of platform category id → list of
    attribute names; it is merged over the defaults category by category.
    """
    base = _default_rules(platform)
    if not d:
        return base
    if not isinstance(d, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table")
    unknown = sorted(set(d) - set(_KEYS))
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               f"{', '.join(_KEYS)})", key=f"{where}.{unknown[0]}")
    changes: dict[str, Any] = {}
    for key in _INT_KEYS:
        if key in d:
            value = d[key]
            optional = key != "min_images"
            if (value is None and optional) or (
                    isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                changes[key] = value
            else:
                raise ConfigError("XD-CFG-003", detail=f"{where}.{key}: must be a whole number, "
                                                       f"0 or more (got {value!r})",
                                  key=f"{where}.{key}")
    if "required_attributes" in d:
        changes["required_attributes"] = _names(d["required_attributes"],
                                                where=f"{where}.required_attributes")
    if "required_by_category" in d:
        table = d["required_by_category"]
        if not isinstance(table, Mapping):
            raise ConfigError("XD-CFG-003", detail=f"{where}.required_by_category: expected a "
                                                   "table of category id = [attribute names]",
                              key=f"{where}.required_by_category")
        merged = dict(base.required_by_category)
        for category, names in table.items():
            merged[str(category)] = _names(names, where=f"{where}.required_by_category.{category}")
        changes["required_by_category"] = merged
    if "category_attribute" in d:
        value = d["category_attribute"]
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError("XD-CFG-003", detail=f"{where}.category_attribute: must be text",
                              key=f"{where}.category_attribute")
        changes["category_attribute"] = value
    return replace(base, **changes)
