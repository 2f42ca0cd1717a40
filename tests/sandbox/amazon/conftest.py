"""Fixtures for the Amazon sandbox tests: an in-process sandbox and a small
raw-HTTP helper that speaks SP-API the way a client does."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from crossdock.sandbox.core import Sandbox

SCALE = 600.0          # 1 real second = 10 platform minutes
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "amazon"


class Amz:
    """Raw SP-API calls against the sandbox for one seller."""

    def __init__(self, sandbox: Sandbox, account: int = 0) -> None:
        self.sb = sandbox
        self.sim = sandbox.sims["amazon"]
        block = sandbox.describe()["amazon"]
        self.base = block["base_url"]
        self.lwa = block["lwa_url"]
        self.acct = block["accounts"][account]
        self.seller = self.acct["seller_id"]
        self.http = httpx.Client(timeout=10)
        self._token: str | None = None

    def channel(self, marketplace: str) -> str:
        return f"amazon:{self.seller}:{marketplace}"

    def lwa_form(self, **over) -> dict:
        form = {"grant_type": "refresh_token", "refresh_token": self.acct["refresh_token"],
                "client_id": self.acct["client_id"], "client_secret": self.acct["client_secret"]}
        form.update(over)
        return {k: v for k, v in form.items() if v is not None}

    def new_token(self) -> str:
        r = self.http.post(self.lwa, data=self.lwa_form())
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def token(self) -> str:
        if self._token is None:
            self._token = self.new_token()
        return self._token

    def request(self, method: str, path: str, *, token: str | None = None, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        headers.setdefault("x-amz-access-token", token if token is not None else self.token())
        return self.http.request(method, self.base + path, headers=headers, **kw)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.request("POST", path, **kw)

    def admin(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, self.sb.admin_url + path, **kw)

    def now_iso(self, offset_s: float = 0) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.sim.now() + offset_s))

    def list(self, marketplace: str, sku: str, qty: int, price: str) -> None:
        self.sim.set_listing(self.channel(marketplace), sku, qty, Decimal(price))

    def order(self, marketplace: str, sku: str, qty: int = 1, country: str = "") -> str:
        oid = self.sim.place_order(self.channel(marketplace), [(sku, qty)], buyer_country=country)
        assert oid is not None
        return oid

    def settle(self, platform_s: float = 60) -> None:
        """Let ``platform_s`` seconds of sandbox time pass."""
        time.sleep(platform_s / self.sb.time_scale)
        self.sim.advance()


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(platforms=("amazon",), time_scale=SCALE, seed=21).start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def amz(sandbox):
    client = Amz(sandbox)
    yield client
    client.http.close()


@pytest.fixture
def fresh():
    """A sandbox of its own, for tests that change credentials or buckets."""
    sb = Sandbox(platforms=("amazon",), time_scale=SCALE, seed=33).start()
    client = Amz(sb)
    yield client
    client.http.close()
    sb.stop()


@pytest.fixture
def make_amz():
    return Amz


@pytest.fixture(scope="module")
def make_amz_module():
    return Amz


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    if not SPECS.is_dir():
        pytest.skip(f"official Amazon specs not found at {SPECS} (expected <repo>/../shared/specs)")
    return SPECS
