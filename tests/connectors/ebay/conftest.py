"""Fixtures for the eBay connector tests: recorded payloads, a frozen clock,
settings, a token store holding a valid token, respx for REST and a fake
``requests`` adapter for the Trading (ebaysdk) path."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter

from crossdock.clock import Clock
from crossdock.connectors.base import MemoryTokenStore, TokenState
from crossdock.connectors.ebay import EbayConnector, EbaySettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ebay"
BASE = "https://api.ebay.test"
NOW = dt.datetime(2025, 3, 14, 10, 30, tzinfo=dt.timezone.utc)


class FrozenClock(Clock):
    def __init__(self, now: dt.datetime) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at

    def timestamp(self) -> float:
        return self.at.timestamp()


class FakeTradingAdapter(BaseAdapter):
    """Answers Trading calls from a queue of (status, body, content type); records requests."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[tuple[int, bytes, str]] = []
        self.requests: list[requests.PreparedRequest] = []

    def reply(self, body: str | bytes, *, status: int = 200, ctype: str = "text/xml;charset=utf-8") -> None:
        self.queue.append((status, body.encode() if isinstance(body, str) else body, ctype))

    def send(self, request, **kwargs):
        self.requests.append(request)
        status, body, ctype = self.queue.pop(0)
        resp = requests.Response()
        resp.status_code = status
        resp._content = body
        resp.headers["Content-Type"] = ctype
        resp.url = request.url
        resp.request = request
        resp.reason = "OK" if status == 200 else "Error"
        return resp

    def close(self) -> None:
        pass


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str):
    return json.loads(fixture_text(name))


def make_settings(**overrides) -> EbaySettings:
    values = dict(channel="ebay:seller_uk:EBAY_GB", username="seller_uk", client_id="Seller-App-PRD-1",
                  client_secret="PRD-secret", trading_token="AgAAAA**token", dev_id="dev-1",
                  base_url=BASE, trading_url=BASE + "/ws/api.dll", token_url=BASE + "/identity/v1/oauth2/token",
                  merchant_location_key="leeds-wh", fulfillment_policy_id="100001", payment_policy_id="100002",
                  return_policy_id="100003")
    values.update(overrides)
    return EbaySettings(**values)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def valid_store() -> MemoryTokenStore:
    return MemoryTokenStore([TokenState(channel="ebay:seller_uk:EBAY_GB", access_token="AT-1",
                                        access_expires_at=NOW + dt.timedelta(hours=1), refresh_token="RT-1",
                                        refresh_expires_at=NOW + dt.timedelta(days=400))])


@pytest.fixture
def store() -> MemoryTokenStore:
    return valid_store()


@pytest.fixture
def trading() -> FakeTradingAdapter:
    return FakeTradingAdapter()


@pytest.fixture
def connector(store, clock, trading):
    conn = EbayConnector(make_settings(), token_store=store, clock=clock, trading_adapter=trading,
                         listing_map={"OLD-LISTING": "trading:110000000001",
                                      "OLD-TWO": {"kind": "trading", "item_id": "110000000002"},
                                      "MUG-BLUE": {"kind": "inventory", "offer_id": "5004316010",
                                                   "item_id": "296541230987"}})
    yield conn
    conn.close()


@pytest.fixture
def load():
    """load("name.json") -> parsed JSON; load("name.xml") -> text."""
    return lambda name: fixture_json(name) if name.endswith(".json") else fixture_text(name)


@pytest.fixture
def settings_factory():
    return make_settings


@pytest.fixture
def connector_factory(clock, trading):
    made = []

    def factory(*, store=None, listing_map=None, **overrides) -> EbayConnector:
        conn = EbayConnector(make_settings(**overrides), token_store=store or valid_store(), clock=clock,
                             trading_adapter=trading, listing_map=listing_map)
        made.append(conn)
        return conn

    yield factory
    for conn in made:
        conn.close()
