"""Catalogue category → platform category, per channel.

The platform category is whatever the platform files a listing under: the
Amazon product type (``SHIRT``), the eBay category id (``"15687"``), the
Shopify product type or taxonomy id. Catalogue categories may be paths
(``Clothing/Shirts/Linen``): when a path has no mapping of its own, its parent
is tried, then the grandparent, then the channel's default. Matching ignores
case and the spaces around separators. No mapping and no default →
MappingError XD-MAP-007.

Configuration::

    [channels.ebay-us.categories]
    default = "99"                         # optional
    separator = "/"                        # optional, "/" by default
    [channels.ebay-us.categories.map]
    "Clothing/Shirts" = "57990"
    "Toys" = "220"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.checks import is_text

__all__ = ["CategoryMapping", "category_mapping_from_config"]


def _norm(category: str, separator: str) -> str:
    return separator.join(part.strip().casefold() for part in category.split(separator))


@dataclass(frozen=True, slots=True)
class CategoryMapping:
    channel: str
    mapping: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    separator: str = "/"
    _index: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.separator:
            raise ConfigError("XD-CFG-003", detail="categories.separator: cannot be empty")
        index: dict[str, str] = {}
        for source, target in self.mapping.items():
            if not is_text(source):
                raise ConfigError("XD-CFG-003", detail=f"categories.map: empty category name "
                                                       f"for channel {self.channel}")
            if not is_text(target):
                raise ConfigError("XD-CFG-003", detail=f"categories.map.{source}: platform "
                                                       f"category must be non-empty text")
            key = _norm(source, self.separator)
            if key in index and index[key] != target.strip():
                raise ConfigError("XD-CFG-003", detail=f"categories.map: {source!r} is mapped "
                                                       "twice (names differing only in case)")
            index[key] = target.strip()
        object.__setattr__(self, "_index", index)

    def lookup(self, category: str | None) -> str | None:
        """The platform category for ``category``, or None when there is none."""
        if category and category.strip():
            parts = _norm(category, self.separator).split(self.separator)
            while parts:
                found = self._index.get(self.separator.join(parts))
                if found is not None:
                    return found
                parts.pop()
        return self.default

    def resolve(self, category: str | None, *, sku: str | None = None) -> str:
        """The platform category for ``category``; MappingError XD-MAP-007 if none."""
        found = self.lookup(category)
        if found is None:
            shown = repr(category) if category else "no category"
            raise MappingError("XD-MAP-007", channel=self.channel,
                               entity=f"sku {sku}" if sku else None,
                               detail=f"{shown} has no mapping on channel {self.channel} and "
                                      "there is no default", category=category)
        return found


_KEYS = ("map", "default", "separator")


def category_mapping_from_config(d: Mapping[str, Any] | None, *, channel: str,
                                 where: str) -> CategoryMapping:
    """A :class:`CategoryMapping` from a plain dict (see module doc)."""
    if d is None:
        return CategoryMapping(channel=channel)
    if not isinstance(d, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table")
    unknown = sorted(set(d) - set(_KEYS))
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               f"{', '.join(_KEYS)})", key=f"{where}.{unknown[0]}")
    mapping = d.get("map", {})
    if not isinstance(mapping, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}.map: expected a table of "
                                               "catalogue category = platform category")
    cleaned: dict[str, str] = {}
    for source, target in mapping.items():
        if isinstance(target, int) and not isinstance(target, bool):
            target = str(target)  # eBay ids written as numbers
        if not isinstance(target, str) or not target.strip():
            raise ConfigError("XD-CFG-003", detail=f"{where}.map.{source}: platform category "
                                                   f"must be non-empty text (got {target!r})",
                              key=f"{where}.map.{source}")
        cleaned[str(source)] = target
    default = d.get("default")
    if isinstance(default, int) and not isinstance(default, bool):
        default = str(default)
    if default is not None and (not isinstance(default, str) or not default.strip()):
        raise ConfigError("XD-CFG-003", detail=f"{where}.default: must be non-empty text",
                          key=f"{where}.default")
    separator = d.get("separator", "/")
    if not isinstance(separator, str) or not separator:
        raise ConfigError("XD-CFG-003", detail=f"{where}.separator: must be non-empty text",
                          key=f"{where}.separator")
    try:
        return CategoryMapping(channel=channel, mapping=cleaned,
                               default=default.strip() if default else None, separator=separator)
    except ConfigError as exc:
        raise ConfigError("XD-CFG-003", detail=f"{where}: {exc.detail}", key=where) from exc
