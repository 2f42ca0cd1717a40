"""Acceptance: the official-style SDK python-amazon-sp-api 2.1.x talks to the
sandbox unmodified, with only its endpoint settings changed:

- the SP-API endpoint: ``client.endpoint = <sandbox base_url>`` (the SDK takes
  it from ``Marketplaces``; there is no constructor option for it);
- the LWA token URL: an ``auth_token_client_class`` whose ``scheme``, ``host``
  and ``path`` class attributes name the sandbox's token endpoint.

On plain http the SDK sends ``Host: endpoint[8:]`` (one character short); the
sandbox accepts any Host, as the brief asks. Its module-level token cache
outlives a sandbox, so each test clears it; ``Client.close()`` does not close
the token client's own httpx client, so the tests close it (``_close``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

sp_api = pytest.importorskip("sp_api")

from sp_api.api import Orders  # noqa: E402
from sp_api.auth import AccessTokenClient  # noqa: E402
from sp_api.auth import access_token_client as token_cache  # noqa: E402
from sp_api.base import Marketplaces  # noqa: E402

US = "ATVPDKIKX0DER"


def sdk_orders(amz) -> Orders:
    lwa = urlsplit(amz.lwa)

    class SandboxLwa(AccessTokenClient):
        scheme = f"{lwa.scheme}://"
        host = lwa.netloc
        path = lwa.path

    client = Orders(marketplace=Marketplaces.US, auth_token_client_class=SandboxLwa,
                    credentials={"refresh_token": amz.acct["refresh_token"], "lwa_app_id": amz.acct["client_id"],
                                 "lwa_client_secret": amz.acct["client_secret"]})
    client.endpoint = amz.base
    return client


def _close(client: Orders) -> None:
    client.close()
    client._auth._transport.close()   # the SDK leaves its LWA client's connection open


@pytest.fixture
def clean_token_cache():
    token_cache.cache.clear()
    yield
    token_cache.cache.clear()


def test_sdk_get_orders_and_get_order_items(amz, clean_token_cache):
    # Given orders on the sandbox
    amz.list(US, "SDK-MUG", 10, "12.00")
    oid = amz.order(US, "SDK-MUG", 2)
    amz.settle(200)
    client = sdk_orders(amz)
    try:
        # When the SDK asks for orders updated in the last hour
        after = (dt.datetime.fromtimestamp(amz.sim.now(), dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
        resp = client.get_orders(LastUpdatedAfter=after, MarketplaceIds=[US], MaxResultsPerPage=50)
        # Then it reads them as Amazon's payload
        ids = [o["AmazonOrderId"] for o in resp.payload["Orders"]]
        assert oid in ids
        assert resp.rate_limit == "0.0167"
        items = client.get_order_items(oid)
        (item,) = items.payload["OrderItems"]
        assert item["SellerSKU"] == "SDK-MUG" and item["QuantityOrdered"] == 2
        assert item["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "24.00"}
        # and pages with NextToken as the SDK does it
        for n in range(3):
            amz.order(US, "SDK-MUG", 1)
        amz.settle(200)
        page = client.get_orders(LastUpdatedAfter=after, MarketplaceIds=[US], MaxResultsPerPage=1)
        seen = [o["AmazonOrderId"] for o in page.payload["Orders"]]
        while page.next_token:
            page = client.get_orders(NextToken=page.next_token, MarketplaceIds=[US])
            seen += [o["AmazonOrderId"] for o in page.payload["Orders"]]
        assert len(seen) == len(set(seen)) >= 4
    finally:
        _close(client)


def test_sdk_sees_amazon_errors_as_its_exceptions(amz, clean_token_cache):
    from sp_api.base.exceptions import SellingApiBadRequestException

    client = sdk_orders(amz)
    try:
        with pytest.raises(SellingApiBadRequestException) as err:
            client.get_orders(LastUpdatedAfter="2020-01-01T00:00:00Z", LastUpdatedBefore=amz.now_iso(),
                              MarketplaceIds=[US])
        assert "2 minutes" in err.value.message
    finally:
        _close(client)


def test_sdk_reads_an_html_503_as_an_empty_answer(amz, clean_token_cache):
    """Why crossdock's connector does not use the SDK for I/O: a maintenance
    page (HTML 503) comes back as an empty payload, not an error."""
    client = sdk_orders(amz)
    try:
        amz.admin("POST", "/faults", json={"kind": "html_503", "platform": "amazon", "operation": "getOrders",
                                           "count": 1})
        resp = client.get_orders(LastUpdatedAfter="2020-01-01T00:00:00Z", MarketplaceIds=[US])
        assert resp.payload == {} and resp.errors is None
    finally:
        _close(client)
        amz.admin("DELETE", "/faults")
