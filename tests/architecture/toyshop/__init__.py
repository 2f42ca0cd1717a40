"""Toyshop: a fourth platform defined only in the tests, in one folder — its
spec (below), a connector on httpx (:mod:`.connector`), its mapping
(:mod:`.mapping`) and a tiny simulator (:mod:`.simulator`). Registering
``PLATFORM`` is all crossdock needs to sync it (``test_toyshop.py``)."""

from __future__ import annotations

from typing import Any

from crossdock.connectors.channel import channel_secret, required
from crossdock.platforms.spec import BatchPolicy, ImportWindows, PlatformSpec
from crossdock.ratelimit.plans import UsagePlan
from tests.architecture.toyshop.connector import ToyshopConnector, ToyshopSettings
from tests.architecture.toyshop.mapping import NAME, STATUSES


def settings(ch: Any) -> ToyshopSettings:
    return ToyshopSettings(channel=ch.name, shop=ch.account, base_url=required(ch, ch.base_url, "base_url"),
                           api_key=str(channel_secret(ch, "client_secret")), currency=ch.currency)


PLATFORM = PlatformSpec(
    name=NAME,
    title="Toyshop",
    settings=settings,
    connector=ToyshopConnector,
    statuses=STATUSES,
    windows=ImportWindows(safety_lag_s=1.0, overlap_s=10.0),
    batch_policy=BatchPolicy(max_items=50),
    usage_plans={"api": UsagePlan(20, 40, bucket="api", source="Toyshop (tests)")},
    fallback_plan=lambda operation: "api",        # every call draws from one bucket per shop
)
