from __future__ import annotations

from decimal import Decimal as D

import pytest

from crossdock.errors import ConfigError, MappingError
from crossdock.mapping.attributes import attribute_mapping_from_config
from crossdock.mapping.categories import CategoryMapping
from crossdock.mapping.validation import (
    DEFAULT_RULES,
    ListingChannel,
    ValidationIssue,
    platform_rules_from_config,
    validate_listing,
    validate_or_raise,
)
from crossdock.models import Money, Product


def img(px: int = 1600, **extra) -> dict:
    return {"url": f"https://img.example/{px}.jpg", "width": px, "height": px, **extra}


@pytest.fixture
def ebay_us() -> ListingChannel:
    return ListingChannel.for_marketplace(
        "ebay-us", "ebay", "EBAY_US",
        categories=CategoryMapping("ebay-us", {"Clothing/Shirts": "57990"}))


@pytest.fixture
def amazon_de() -> ListingChannel:
    return ListingChannel.for_marketplace(
        "amazon-de", "amazon", "A1PA6795UKMFR9",
        categories=CategoryMapping("amazon-de", {"Clothing/Shirts": "SHIRT"}))


def good_product(**changes) -> Product:
    base = dict(sku="TS-1", title="Linen shirt, blue", price=Money(D("24.99"), "USD"),
                category="Clothing/Shirts", images=[img(), "https://img.example/b.jpg"],
                attributes={"brand": "Acme", "condition": "NEW", "condition_type": "new_new"})
    base.update(changes)
    return Product(**base)


def test_a_good_listing_has_no_issues(ebay_us, amazon_de):
    assert ebay_us.currency == "USD" and amazon_de.currency == "EUR"
    assert validate_listing(good_product(), ebay_us) == []
    validate_or_raise(good_product(), ebay_us)
    # same product on Amazon DE with a EUR price computed for the channel
    assert validate_listing(good_product(), amazon_de, price=Money(D("22.99"), "EUR")) == []


def test_every_issue_is_reported_at_once(ebay_us):
    # Given a product with many problems for eBay
    product = good_product(
        title="X" * 81,
        price=Money(D("0"), "EUR"),
        category="Garden",
        attributes={},
        images=[img(400)] + ["https://img.example/x.jpg"] * 24,
    )
    # When it is validated
    issues = validate_listing(product, ebay_us)
    # Then all of them come back, in a fixed order
    assert [(i.code, i.field) for i in issues] == [
        ("XD-MAP-002", "title"),
        ("XD-MAP-003", "price"),
        ("XD-MAP-004", "price.currency"),
        ("XD-MAP-001", "attributes.condition"),
        ("XD-MAP-007", "category"),
        ("XD-MAP-008", "images"),
        ("XD-MAP-008", "images[0]"),
    ]
    assert "81 characters" in issues[0].message and "80" in issues[0].message
    assert "400 px" in issues[-1].message


def test_validate_or_raise_carries_every_issue(ebay_us):
    product = good_product(title="", price=None, images=[])
    with pytest.raises(MappingError) as err:
        validate_or_raise(product, ebay_us)
    e = err.value
    assert e.code == "XD-MAP-001"                 # the first issue's code
    assert e.channel == "ebay-us" and e.entity == "sku TS-1"
    assert [i["code"] for i in e.context["issues"]] == ["XD-MAP-001", "XD-MAP-003", "XD-MAP-008"]
    assert "3 problem(s)" in e.detail
    assert e.to_dict()["context"]["issues"][1] == {"code": "XD-MAP-003", "field": "price",
                                                   "message": "no price"}


def test_amazon_required_attributes(amazon_de):
    product = good_product(attributes={}, category="Toys", price=Money(D("10"), "EUR"))
    issues = validate_listing(product, amazon_de)
    assert [(i.code, i.field) for i in issues] == [
        ("XD-MAP-001", "attributes.brand"),
        ("XD-MAP-007", "category"),            # product_type comes from the category mapping
        ("XD-MAP-001", "attributes.condition_type"),
    ]
    # item_name is met by the title; product_type may also be given as an attribute
    product.attributes = {"brand": "Acme", "condition": "new", "product_type": "TOY_FIGURE"}
    assert validate_listing(product, amazon_de) == []


def test_title_limits_per_platform():
    assert DEFAULT_RULES["amazon"].title_max_chars == 200
    assert DEFAULT_RULES["ebay"].title_max_chars == 80
    shop = ListingChannel("shop", "shopify", "GBP")
    ok = good_product(title="T" * 255, price=Money(D("5"), "GBP"), category=None)
    assert validate_listing(ok, shop) == []
    too_long = good_product(title="T" * 256, price=Money(D("5"), "GBP"))
    assert [i.code for i in validate_listing(too_long, shop)] == ["XD-MAP-002"]
    # 200 characters are fine on Amazon, 201 are not
    amazon = ListingChannel("az", "amazon", "EUR", categories=CategoryMapping("az", default="SHIRT"))
    assert validate_listing(good_product(title="A" * 200, price=Money(D("5"), "EUR")), amazon) == []
    assert validate_listing(good_product(title="A" * 201, price=Money(D("5"), "EUR")), amazon)[0].code \
        == "XD-MAP-002"


@pytest.mark.parametrize(("image", "problem"), [
    ({"url": "https://x/a.jpg", "width": 499, "height": 300}, "499 px"),
    ({"url": "https://x/a.jpg", "width": 300, "height": 500}, None),   # longest side counts
    ({"url": "https://x/a.jpg"}, None),                                # size unknown: not judged
    ({"src": "https://x/a.jpg", "width": 800}, None),
    ({"width": 800, "height": 800}, "without a url"),
    ({"url": "https://x/a.jpg", "width": "800"}, "width"),
    ("", "empty image URL"),
    (42, "not an image"),
])
def test_image_checks(ebay_us, image, problem):
    issues = validate_listing(good_product(images=[image]), ebay_us)
    if problem is None:
        assert issues == []
    else:
        assert [(i.code, i.field) for i in issues] == [("XD-MAP-008", "images[0]")]
        assert problem in issues[0].message


def test_attribute_mapping_feeds_validation(amazon_de):
    # Given a channel that renames 'manufacturer' to 'brand' and requires 'model'
    mapping = attribute_mapping_from_config({"rules": {
        "brand": {"rename": "manufacturer"},
        "model": {"rename": "model_number", "required": True},
    }}, where="w")
    channel = ListingChannel("amazon-de", "amazon", "EUR",
                             categories=amazon_de.categories, attributes=mapping)
    product = good_product(price=Money(D("9"), "EUR"),
                           attributes={"manufacturer": "Acme", "condition_type": "new_new"})
    issues = validate_listing(product, channel)
    # Then brand is met through the mapping and the missing model is reported once
    assert issues == [ValidationIssue("XD-MAP-001", "attributes.model",
                                      "required attribute model cannot be filled by the "
                                      "attribute mapping")]


def test_required_by_category_from_config(ebay_us):
    rules = platform_rules_from_config("ebay", {
        "required_by_category": {"57990": ["Size", "Brand|brand"]},
        "max_images": 12,
    }, where="channels.ebay-us.validation")
    channel = ListingChannel("ebay-us", "ebay", "USD", categories=ebay_us.categories,
                             rules=rules)
    issues = validate_listing(good_product(), channel)
    assert [(i.code, i.field) for i in issues] == [("XD-MAP-001", "attributes.Size")]
    assert rules.max_images == 12 and rules.min_image_px == 500   # other defaults kept


@pytest.mark.parametrize(("conf", "key"), [
    ({"title_max_chars": -1}, "w.title_max_chars"),
    ({"min_images": None}, "w.min_images"),
    ({"required_attributes": "brand"}, "w.required_attributes"),
    ({"required_by_category": {"1": [""]}}, "w.required_by_category.1"),
    ({"max_title": 10}, "w.max_title"),
])
def test_bad_rule_config(conf, key):
    with pytest.raises(ConfigError) as err:
        platform_rules_from_config("ebay", conf, where="w")
    assert key in err.value.detail
