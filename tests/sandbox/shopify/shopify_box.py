"""Helpers for the Shopify sandbox tests: an in-process sandbox with a GraphQL
helper, and a local webhook receiver (imported by tests and conftest)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from crossdock.sandbox.core import CatalogueItem, Sandbox

CHANNEL = "shopify:crossdock-eu"
SKUS = ("MUG-BLUE", "TEE-L", "CAP-RED")


class ShopifyBox:
    """A started sandbox with Shopify only, plus conveniences."""

    def __init__(self, *, time_scale: float = 60.0, seed: int = 11) -> None:
        self.sb = Sandbox(platforms=("shopify",), time_scale=time_scale, seed=seed).start()
        self.sim = self.sb.sims["shopify"]
        self.desc = self.sb.describe()["shopify"]
        self.shop = self.desc["shops"][0]
        self.http = httpx.Client(timeout=10.0)
        for i, sku in enumerate(SKUS):
            self.sb.market.seed_item(CatalogueItem(sku, f"Item {sku}", Decimal("12.50") + i, "EUR", 100,
                                                   hs_code="691200", country_of_origin="PT"))
            self.sim.set_listing(CHANNEL, sku, 20)

    @property
    def base(self) -> str:
        return self.desc["base_url"]

    def url(self, version: str | None = None, *, prefixed: bool = True) -> str:
        v = version or self.desc["api_version"]
        prefix = f"/shops/{self.shop['shop']}" if prefixed else ""
        return f"{self.base}{prefix}/admin/api/{v}/graphql.json"

    def gql(self, query: str, variables: dict | None = None, *, token: str | None = None,
            version: str | None = None, prefixed: bool = True) -> httpx.Response:
        return self.http.post(self.url(version, prefixed=prefixed), json={"query": query, "variables": variables},
                              headers={"X-Shopify-Access-Token": token or self.sim.creds[self.shop["shop"]].access_token})

    def data(self, query: str, variables: dict | None = None, **kw) -> dict:
        r = self.gql(query, variables, **kw)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body
        return body["data"]

    def wait_sandbox_s(self, seconds: float) -> None:
        time.sleep(self.sim.clock.to_real_s(seconds))

    def close(self) -> None:
        self.http.close()
        self.sb.stop()


class Receiver:
    """A webhook endpoint that records every delivery."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.cv = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                return

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.cv:
                    outer.deliveries.append(({k: v for k, v in self.headers.items()}, body))
                    outer.cv.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def wait_for(self, n: int, timeout_s: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout_s
        with self.cv:
            while len(self.deliveries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cv.wait(left)
            return list(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
