from __future__ import annotations

from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.attributes import (
    AttributeMapping,
    AttributeRule,
    attribute_mapping_from_config,
    map_attributes,
    product_value,
)
from crossdock.mapping.categories import CategoryMapping, category_mapping_from_config
from crossdock.models import Money, Product


# ------------------------------------------------------------------ categories
@pytest.fixture
def ebay_categories() -> CategoryMapping:
    return category_mapping_from_config(
        {"map": {"Clothing/Shirts": "57990", "Toys": 220, "Clothing": "11450"}},
        channel="ebay-us", where="channels.ebay-us.categories")


@pytest.mark.parametrize(("category", "expected"), [
    ("Clothing/Shirts", "57990"),
    ("clothing / shirts ", "57990"),            # case and spaces do not matter
    ("Clothing/Shirts/Linen", "57990"),         # falls back to the parent
    ("Clothing/Trousers", "11450"),             # … and the grandparent
    ("Toys", "220"),                            # numbers in config become text
])
def test_category_lookup(ebay_categories, category, expected):
    assert ebay_categories.resolve(category) == expected


def test_missing_category_without_default(ebay_categories):
    with pytest.raises(MappingError) as err:
        ebay_categories.resolve("Garden/Tools", sku="S1")
    e = err.value
    assert e.code == "XD-MAP-007" and e.channel == "ebay-us" and e.entity == "sku S1"
    assert "'Garden/Tools'" in e.detail
    with pytest.raises(MappingError):
        ebay_categories.resolve(None)


def test_default_category():
    mapping = CategoryMapping("amazon-de", {"Shirts": "SHIRT"}, default="PRODUCT")
    assert mapping.resolve("Shirts") == "SHIRT"
    assert mapping.resolve("Garden") == "PRODUCT"
    assert mapping.resolve(None) == "PRODUCT"


def test_custom_separator():
    mapping = category_mapping_from_config({"map": {"A > B": "1"}, "separator": ">"},
                                           channel="c", where="w")
    assert mapping.resolve("a>b>c") == "1"


@pytest.mark.parametrize(("conf", "key"), [
    ({"map": {"Toys": ""}}, "w.map.Toys"),
    ({"map": ["Toys"]}, "w.map"),
    ({"default": ""}, "w.default"),
    ({"mapping": {}}, "w.mapping"),
    ({"map": {"Toys": "1", "toys": "2"}}, "mapped twice"),
])
def test_bad_category_config(conf, key):
    with pytest.raises(ConfigError) as err:
        category_mapping_from_config(conf, channel="c", where="w")
    assert key in err.value.detail


# ------------------------------------------------------------------ attributes
@pytest.fixture
def product() -> Product:
    return Product(
        sku="TS-1", title="Linen shirt", price=Money(D("20"), "EUR"), hs_code="620520",
        attributes={"manufacturer": "Acme", "colour": "blue", "size": {"value": "M"}, "material": "linen"},
    )


def test_product_value_paths(product):
    assert product_value(product, "title") == "Linen shirt"
    assert product_value(product, "price.amount") == D("20")
    assert product_value(product, "attributes.size.value") == "M"
    assert product_value(product, "colour") == "blue"            # bare attribute name
    assert product_value(product, "description", "n/a") == "n/a"  # empty field → default


def test_rename_constant_template(product):
    mapping = attribute_mapping_from_config({"rules": {
        "brand": {"rename": "manufacturer"},
        "color": {"rename": "attributes.colour"},
        "condition_type": {"constant": "new_new"},
        "item_name": {"template": "{manufacturer} {title} ({attributes.size.value}) {{new}}"},
    }}, where="channels.amazon-de.attributes")
    out = map_attributes(product, mapping)
    assert out == {
        "size": {"value": "M"}, "material": "linen",      # passed through
        "brand": "Acme", "color": "blue", "condition_type": "new_new",
        "item_name": "Acme Linen shirt (M) {new}",
    }
    assert "manufacturer" not in out and "colour" not in out     # renamed away


def test_templates_read_the_product_not_other_rules(product):
    # {brand} is looked up on the product, where it does not exist → left out
    mapping = AttributeMapping((AttributeRule("item_name", "template", template="{brand} {title}"),))
    assert "item_name" not in map_attributes(product, mapping)


def test_no_passthrough(product):
    mapping = AttributeMapping((AttributeRule("hs", "rename", source="hs_code"),), passthrough=False)
    assert map_attributes(product, mapping) == {"hs": "620520"}


def test_default_and_required(product):
    mapping = attribute_mapping_from_config({"passthrough": False, "rules": {
        "brand": {"rename": "brand", "default": "Generic"},
        "model": {"rename": "model_number", "required": True},
        "bullet": {"template": "{attributes.fabric} weave", "required": True},
        "gtin": {"rename": "ean"},
    }}, where="w")
    with pytest.raises(MappingError) as err:
        map_attributes(product, mapping, channel="amazon-de")
    e = err.value
    assert e.code == "XD-MAP-001"
    assert e.context["missing"] == ["model", "bullet"]     # every missing one, at once
    assert "attributes.fabric" in e.detail

    relaxed = AttributeMapping(tuple(AttributeRule(r.target, r.kind, r.source, r.value, r.template,
                                                   r.default, False) for r in mapping.rules), False)
    assert map_attributes(product, relaxed) == {"brand": "Generic"}


@pytest.mark.parametrize(("conf", "key"), [
    ({"rules": {"x": {"rename": "a", "constant": 1}}}, "w.rules.x"),
    ({"rules": {"x": {}}}, "w.rules.x"),
    ({"rules": {"x": "colour"}}, "w.rules.x"),
    ({"rules": {"x": {"template": "{title!r:>10}"}}}, "w.rules.x"),
    ({"rules": {"x": {"template": "{unclosed"}}}, "w.rules.x"),
    ({"rules": {"x": {"rename": "has space"}}}, "w.rules.x"),
    ({"rules": {"x": {"rename": "a", "required": "yes"}}}, "w.rules.x.required"),
    ({"passthrough": "no"}, "w.passthrough"),
    ({"rule": {}}, "w.rule"),
])
def test_bad_attribute_config(conf, key):
    with pytest.raises(ConfigError) as err:
        attribute_mapping_from_config(conf, where="w")
    assert err.value.code == "XD-CFG-003" and key in err.value.detail
