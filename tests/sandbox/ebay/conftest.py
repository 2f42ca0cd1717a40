"""An in-process eBay sandbox per test module, and a small helper to talk to it."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from decimal import Decimal

import httpx
import pytest

from crossdock.sandbox.core import Sandbox

_counter = itertools.count(1)
NS = "urn:ebay:apis:eBLBaseComponents"


class EbayEnv:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.sim = sb.sims["ebay"]
        self.http = httpx.Client(timeout=10)

    @property
    def block(self) -> dict:
        return self.sb.describe()["ebay"]

    @property
    def acct(self) -> dict:
        return self.block["accounts"][0]

    @property
    def channel(self) -> str:
        return self.acct["channel"]

    def fresh_account(self) -> dict:
        """A new seller, so destructive scenarios do not touch other tests."""
        a = self.sim.add_account("EBAY_GB")
        return a.describe()

    def token(self, acct: dict | None = None) -> str:
        a = acct or self.acct
        r = self.http.post(self.block["token_url"], auth=(a["client_id"], a["client_secret"]),
                           data={"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def rest(self, method: str, path: str, *, token: str | None = None, acct: dict | None = None,
             **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token(acct)}", **kw.pop("headers", {})}
        return self.http.request(method, self.block["base_url"] + path, headers=headers, **kw)

    def trading(self, call: str, inner: str = "", *, token: str | None = None, iaf: str | None = None,
                headers: dict | None = None) -> tuple[httpx.Response, ET.Element]:
        creds = "" if iaf else (f"<RequesterCredentials><eBayAuthToken>{token or self.acct['trading_token']}"
                                "</eBayAuthToken></RequesterCredentials>")
        body = f'<?xml version="1.0" encoding="utf-8"?><{call}Request xmlns="{NS}">{creds}{inner}</{call}Request>'
        h = {"X-EBAY-API-CALL-NAME": call, "X-EBAY-API-SITEID": "3",
             "X-EBAY-API-COMPATIBILITY-LEVEL": "1349", "Content-Type": "text/xml"}
        if iaf:
            h["X-EBAY-API-IAF-TOKEN"] = iaf
        h.update(headers or {})
        r = self.http.post(self.block["trading_url"], content=body.encode(), headers=h)
        root = ET.fromstring(r.content)
        for el in root.iter():
            el.tag = el.tag.split("}", 1)[-1]
        return r, root

    def skus(self, n: int, *, qty: int = 10, price: str = "10.00", legacy: int = 0, channel: str | None = None
             ) -> list[str]:
        """``n`` fresh listings; the last ``legacy`` of them created outside the Inventory API."""
        ch = channel or self.channel
        tag = next(_counter)
        out = []
        for i in range(n):
            sku = f"T{tag}-{i:03d}"
            if i >= n - legacy:
                self.sim.mark_legacy(ch, sku)
            self.sim.set_listing(ch, sku, qty, Decimal(price))
            out.append(sku)
        return out

    def now_iso(self) -> str:
        from crossdock.sandbox.ebay.model import iso_ms

        return iso_ms(self.sb.clock.timestamp())


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(platforms=("ebay",), time_scale=60, seed=11).start()
    yield sb
    sb.stop()


@pytest.fixture
def ebay(sandbox):
    env = EbayEnv(sandbox)
    yield env
    sandbox.faults.clear()
    env.http.close()

