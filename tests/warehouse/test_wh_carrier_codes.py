from __future__ import annotations

import pytest

from crossdock.errors import MappingError
from crossdock.warehouse.carrier_codes import (
    KNOWN_CARRIERS,
    PlatformCarrier,
    platform_carrier,
    platform_carrier_code,
    tracking_url,
)


@pytest.mark.parametrize("platform, carrier, code", [
    ("amazon", "royal_mail", "Royal Mail"),
    ("amazon", "dhl_express", "DHL Express"),
    ("amazon", "china_post", "China Post"),
    ("amazon", "4px", "4PX"),
    ("amazon", "yamato", "YamatoTransport"),
    ("amazon", "sf_express", "SF Express"),
    ("ebay", "royal_mail", "RoyalMail"),
    ("ebay", "dhl_express", "DHLEXPRESS"),
    ("ebay", "4px", "FourPX"),
    ("ebay", "yanwen", "YANWEN"),
    ("ebay", "fedex", "FedEx"),
    ("shopify", "dhl_express", "DHL Express"),
    ("shopify", "yamato", "Yamato (EN)"),
    ("shopify", "usps", "USPS"),
    ("amazon", "UPS", "UPS"),
    ("EBAY", "Royal Mail", "RoyalMail"),
    ("shopify", "china-post", "China Post"),
])
def test_platform_codes(platform, carrier, code):
    assert platform_carrier_code(platform, carrier) == code


def test_every_known_carrier_maps_on_every_platform():
    for platform in ("amazon", "ebay", "shopify"):
        for carrier in KNOWN_CARRIERS:
            assert platform_carrier_code(platform, carrier).strip()


def test_generic_code_carries_the_carrier_name():
    # Amazon requires carrierName when carrierCode is "Other"
    assert platform_carrier("amazon", "sandbox") == PlatformCarrier("Other", "crossdock sandbox")
    assert platform_carrier("ebay", "sf_express") == PlatformCarrier("Other", "SF Express")
    assert platform_carrier("amazon", "other", display_name="Yodel") == PlatformCarrier("Other", "Yodel")
    assert platform_carrier("amazon", "dhl") == PlatformCarrier("DHL", None)


def test_unknown_carrier_is_xd_map_012():
    with pytest.raises(MappingError) as err:
        platform_carrier_code("amazon", "pigeon_post")
    assert err.value.code == "XD-MAP-012"
    assert err.value.context["platform"] == "amazon"


def test_raw_override_admits_unknown_carriers_and_replaces_known_ones():
    assert platform_carrier_code("amazon", "yodel", overrides={"yodel": "Yodel"}) == "Yodel"
    assert platform_carrier_code("shopify", "hermes", overrides={"Hermes": "Evri"}) == "Evri"
    assert platform_carrier("ebay", "yodel", overrides={"yodel": "Other"}) == PlatformCarrier("Other", "yodel")
    # an override for another carrier does not leak
    with pytest.raises(MappingError):
        platform_carrier_code("ebay", "pigeon_post", overrides={"yodel": "Yodel"})


def test_unknown_platform():
    with pytest.raises(ValueError):
        platform_carrier_code("etsy", "dhl")


def test_tracking_urls():
    assert tracking_url("ups", "1Z999AA10123456784") == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert tracking_url("Royal Mail", "AB 123/4") == (
        "https://www.royalmail.com/track-your-item#/tracking-results/AB%20123%2F4")
    assert tracking_url("sandbox", "XD473124829CN") is None
    assert tracking_url("sandbox", "XD473124829CN", templates={"sandbox": "http://localhost/t/{tracking}"}) == (
        "http://localhost/t/XD473124829CN")
