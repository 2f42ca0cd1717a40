"""Toyshop's connector: crossdock's contract on Toyshop's HTTP API (httpx),
every call through crossdock's send path (quota budget, timeouts, errors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from crossdock.connectors.base import ConnectorDeps, OrderQuery
from crossdock.connectors.contract import Connector
from crossdock.connectors.http import CallContext, json_body, send
from crossdock.models import ItemResult, ListedOffer, Order, ShipmentConfirmation, StockUpdate
from tests.architecture.toyshop import mapping as m


@dataclass(frozen=True)
class ToyshopSettings:
    channel: str
    shop: str
    base_url: str
    api_key: str
    currency: str
    timeout_s: float = 10.0


class ToyshopConnector(Connector):
    platform = m.NAME

    def __init__(self, settings: ToyshopSettings, deps: ConnectorDeps) -> None:
        self.settings = settings
        self.channel = settings.channel
        self.clock = deps.clock
        self.budget = deps.budget
        self.http = httpx.Client(base_url=settings.base_url, headers={"X-Toyshop-Key": settings.api_key})

    def _call(self, operation: str, method: str, path: str, **kw: Any) -> Any:
        ctx = CallContext(self.platform, self.settings.shop, self.channel, operation)
        resp = send(self.http, self.http.build_request(method, path, **kw), ctx, budget=self.budget,
                    timeout_s=self.settings.timeout_s)
        return json_body(resp, ctx)

    def fetch_orders(self, query: OrderQuery) -> list[Order]:
        body = self._call("orders", "GET", "/orders", params={"from": m.iso(query.start), "to": m.iso(query.end)})
        return [m.parse_order(o) for o in body["orders"]]

    def fetch_order(self, order_id: str, *, with_items: bool = True) -> Order:
        return m.parse_order(self._call("order", "GET", f"/orders/{order_id}"))

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        return m.stock_results(self._call("stock", "POST", "/stock", json=m.stock_body(updates)))

    def read_listings(self, skus: Sequence[str] | None = None) -> list[ListedOffer]:
        params = {"sku": ",".join(skus)} if skus is not None else {}
        body = self._call("listings", "GET", "/listings", params=params)
        return [m.listed_offer(item, self.settings.currency) for item in body["listings"]]

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        self._call("ship", "POST", f"/orders/{confirmation.platform_order_id}/shipments",
                   json=m.shipment_body(confirmation))

    def close(self) -> None:
        self.http.close()
