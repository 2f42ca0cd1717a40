"""Product attributes → the attributes one platform wants, by rules.

Three kinds of rule, per target attribute:

- ``rename``: take a product field or attribute (``colour`` → ``color``); the
  old attribute name is dropped from the output;
- ``constant``: a fixed value (``condition_type = "new_new"``);
- ``template``: text built from fields, ``"{brand} {title} ({attributes.size})"``.

A source or placeholder is a product field (``title``, ``description``,
``sku``, ``category``, ``hs_code``, ``country_of_origin``, ``weight_g``,
``price.amount``, ``price.currency`` …) or an attribute, written bare
(``brand``) or dotted (``attributes.brand``, ``attributes.size.value``).
Templates only substitute names, they never evaluate anything, and they read
the product, not the output of other rules. ``{{`` and
``}}`` are literal braces.

A missing source leaves the attribute out, unless the rule has a ``default``
(used instead) or ``required = true`` (MappingError XD-MAP-001).

Configuration (order is kept)::

    [channels.amazon-de.attributes]
    passthrough = true                       # start from the product's own attributes
    [channels.amazon-de.attributes.rules]
    item_name = {template = "{brand} {title}"}
    color = {rename = "colour"}
    condition_type = {constant = "new_new"}
    brand = {rename = "manufacturer", required = true}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.checks import is_text
from crossdock.models import Money, Product

__all__ = [
    "AttributeMapping",
    "AttributeRule",
    "attribute_mapping_from_config",
    "map_attributes",
    "product_value",
]

_MISSING = object()
_PRODUCT_FIELDS = frozenset(f.name for f in fields(Product))
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


def product_value(product: Product, path: str, default: Any = None) -> Any:
    """The value at ``path`` on ``product`` (field, ``price.amount``, attribute, nested)."""
    value = _lookup(product, path)
    return default if value is _MISSING else value


def _lookup(product: Product, path: str) -> Any:
    parts = path.strip().split(".")
    head = parts[0]
    if head == "attributes":
        current: Any = product.attributes
        parts = parts[1:]
        if not parts:
            return _MISSING
    elif head in _PRODUCT_FIELDS:
        current = getattr(product, head)
        parts = parts[1:]
    else:
        current = product.attributes
    for part in parts:
        if isinstance(current, Money):
            current = {"amount": current.amount, "currency": current.currency}
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return _MISSING if _empty(current) else current


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """One target attribute. Exactly one of ``source`` (rename), ``value``
    (constant) or ``template`` is used, per ``kind``."""

    target: str
    kind: str                       # rename, constant, template
    source: str | None = None
    value: Any = None
    template: str | None = None
    default: Any = None
    required: bool = False

    def __post_init__(self) -> None:
        if not is_text(self.target):
            raise ConfigError("XD-CFG-003", detail="attribute rule without a target name")
        if self.kind == "rename":
            if not isinstance(self.source, str) or not _NAME.match(self.source.strip()):
                raise ConfigError("XD-CFG-003", detail=f"{self.target}.rename: {self.source!r} "
                                                       "is not a field or attribute name")
        elif self.kind == "constant":
            if self.value is None:
                raise ConfigError("XD-CFG-003", detail=f"{self.target}.constant: needs a value")
        elif self.kind == "template":
            if not isinstance(self.template, str):
                raise ConfigError("XD-CFG-003", detail=f"{self.target}.template: must be text")
            for m in _PLACEHOLDER.finditer(self.template):
                name = m.group(1)
                if name is not None and not _NAME.match(name.strip()):
                    raise ConfigError("XD-CFG-003", detail=f"{self.target}.template: "
                                                           f"{{{name}}} is not a field name")
            leftover = _PLACEHOLDER.sub("", self.template)
            if "{" in leftover or "}" in leftover:
                raise ConfigError("XD-CFG-003", detail=f"{self.target}.template: unbalanced braces")
        else:
            raise ConfigError("XD-CFG-003", detail=f"{self.target}: unknown rule kind "
                                                   f"{self.kind!r} (rename, constant, template)")

    def placeholders(self) -> list[str]:
        if self.kind != "template" or self.template is None:
            return []
        return [m.group(1).strip() for m in _PLACEHOLDER.finditer(self.template)
                if m.group(1) is not None]

    def evaluate(self, product: Product) -> Any:
        """The value for ``product``, or ``_MISSING`` when a source is missing."""
        if self.kind == "constant":
            return self.value
        if self.kind == "rename":
            assert self.source is not None
            return _lookup(product, self.source)
        assert self.template is not None
        missing: list[str] = []

        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "{{":
                return "{"
            if m.group(0) == "}}":
                return "}"
            value = _lookup(product, m.group(1))
            if value is _MISSING:
                missing.append(m.group(1).strip())
                return ""
            return str(value)

        text = _PLACEHOLDER.sub(sub, self.template)
        if missing:
            return _MISSING
        return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    """Rules for one channel; ``passthrough`` starts from the product's attributes."""

    rules: tuple[AttributeRule, ...] = ()
    passthrough: bool = True

    def apply(self, product: Product, *, channel: str | None = None) -> dict[str, Any]:
        return map_attributes(product, self, channel=channel)


def map_attributes(product: Product, mapping: AttributeMapping, *,
                   channel: str | None = None) -> dict[str, Any]:
    """The platform attributes of ``product`` under ``mapping``.

    MappingError XD-MAP-001 names every required attribute that could not be
    filled (all of them at once, in ``context["missing"]``).
    """
    out: dict[str, Any] = dict(product.attributes) if mapping.passthrough else {}
    renamed_away: set[str] = set()
    missing: list[tuple[str, str]] = []
    for rule in mapping.rules:
        value = rule.evaluate(product)
        if value is _MISSING:
            if rule.default is not None:
                value = rule.default
            elif rule.required:
                why = (f"needs {', '.join(rule.placeholders())}" if rule.kind == "template"
                       else f"source {rule.source!r} is empty")
                missing.append((rule.target, why))
                continue
            else:
                continue  # left out (a passed-through attribute of that name stays)
        if rule.kind == "rename":
            assert rule.source is not None
            src = rule.source.strip()
            src_key = src[len("attributes."):] if src.startswith("attributes.") else src
            if src_key in product.attributes and src_key != rule.target:
                renamed_away.add(src_key)
        out[rule.target] = value
    for key in renamed_away:
        if key not in {r.target for r in mapping.rules}:
            out.pop(key, None)
    if missing:
        raise MappingError("XD-MAP-001", channel=channel, entity=f"sku {product.sku}",
                           detail="required attribute(s) missing: "
                                  + "; ".join(f"{t} ({why})" for t, why in missing),
                           missing=[t for t, _ in missing])
    return out


_RULE_KINDS = ("rename", "constant", "template")
_RULE_OPTIONS = ("default", "required")


def attribute_mapping_from_config(d: Mapping[str, Any] | None, *, where: str) -> AttributeMapping:
    """An :class:`AttributeMapping` from a plain dict (see module doc)."""
    if d is None:
        return AttributeMapping()
    if not isinstance(d, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}: expected a table")
    unknown = sorted(set(d) - {"passthrough", "rules"})
    if unknown:
        raise ConfigError("XD-CFG-003", detail=f"{where}.{unknown[0]}: unknown key (allowed: "
                                               "passthrough, rules)", key=f"{where}.{unknown[0]}")
    passthrough = d.get("passthrough", True)
    if not isinstance(passthrough, bool):
        raise ConfigError("XD-CFG-003", detail=f"{where}.passthrough: must be true or false",
                          key=f"{where}.passthrough")
    raw_rules = d.get("rules", {})
    if not isinstance(raw_rules, Mapping):
        raise ConfigError("XD-CFG-003", detail=f"{where}.rules: expected a table of "
                                               "target = {rename|constant|template = …}")
    rules: list[AttributeRule] = []
    for target, spec in raw_rules.items():
        key = f"{where}.rules.{target}"
        if not isinstance(spec, Mapping):
            raise ConfigError("XD-CFG-003", detail=f"{key}: expected a table such as "
                                                   "{rename = \"colour\"}", key=key)
        kinds = [k for k in _RULE_KINDS if k in spec]
        extra = sorted(set(spec) - set(_RULE_KINDS) - set(_RULE_OPTIONS))
        if len(kinds) != 1 or extra:
            raise ConfigError("XD-CFG-003", detail=f"{key}: give exactly one of rename, constant "
                                                   f"or template (got {sorted(spec)})", key=key)
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise ConfigError("XD-CFG-003", detail=f"{key}.required: must be true or false",
                              key=f"{key}.required")
        kind = kinds[0]
        try:
            rules.append(AttributeRule(
                target=str(target), kind=kind,
                source=spec["rename"] if kind == "rename" else None,
                value=spec["constant"] if kind == "constant" else None,
                template=spec["template"] if kind == "template" else None,
                default=spec.get("default"), required=required))
        except ConfigError as exc:
            raise ConfigError("XD-CFG-003", detail=f"{where}.rules.{exc.detail}", key=key) from exc
    return AttributeMapping(rules=tuple(rules), passthrough=passthrough)
