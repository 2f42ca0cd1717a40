"""A tiny Toyshop on loopback: orders, listings and shipments in memory,
behind the API key it was started with."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ToyshopSimulator:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.orders: dict[str, dict[str, Any]] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        self.shipments: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "ToyshopSimulator":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ what a buyer and a seller do
    def list_item(self, sku: str, quantity: int, price: str) -> None:
        with self.lock:
            self.listings[sku] = {"id": f"T{len(self.listings) + 1}", "sku": sku, "quantity": quantity,
                                  "price": price}

    def buy(self, order_id: str, sku: str, qty: int, *, at: dt.datetime) -> None:
        with self.lock:
            self.listings[sku]["quantity"] -= qty
            self.orders[order_id] = {
                "id": order_id, "status": "paid", "currency": "EUR", "created": at.isoformat(),
                "updated": at.isoformat(), "total": str(qty * float(self.listings[sku]["price"])),
                "lines": [{"id": f"{order_id}-1", "sku": sku, "qty": qty, "price": self.listings[sku]["price"]}],
                "ship_to": {"country": "DE", "name": "Erika Muster", "street": "Hauptstr. 1", "city": "Leipzig",
                            "zip": "04109"}}

    # ------------------------------------------------------------------ the API
    def _answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self.lock:
            self.calls.append(f"{method} {path}")
            if method == "GET" and path == "/orders":
                start, end = (dt.datetime.fromisoformat(query[k][0]) for k in ("from", "to"))
                return 200, {"orders": [o for o in self.orders.values()
                                        if start <= dt.datetime.fromisoformat(o["updated"]) <= end]}
            if method == "GET" and path.startswith("/orders/") and path.count("/") == 2:
                order = self.orders.get(path.rsplit("/", 1)[1])
                return (200, order) if order else (404, {"error": "no such order"})
            if method == "POST" and path.startswith("/orders/") and path.endswith("/shipments"):
                order = self.orders.get(path.split("/")[2])
                if order is None:
                    return 404, {"error": "no such order"}
                self.shipments.append({"order": order["id"], **body})
                order["status"] = "sent"
                order["updated"] = dt.datetime.now(dt.timezone.utc).isoformat()
                return 201, {"ok": True}
            if method == "POST" and path == "/stock":
                results = []
                for item in body["items"]:
                    listing = self.listings.get(item["sku"])
                    if listing is not None:
                        listing["quantity"] = int(item["quantity"])
                    results.append({"sku": item["sku"], "ok": listing is not None,
                                    **({} if listing is not None else {"error": "no such listing"})})
                return 200, {"results": results}
            if method == "GET" and path == "/listings":
                wanted = set(query["sku"][0].split(",")) if "sku" in query else None
                return 200, {"listings": [dict(v) for k, v in self.listings.items() if wanted is None or k in wanted]}
        return 404, {"error": f"no route {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if self.headers.get("X-Toyshop-Key") != sim.api_key:
                    status, payload = 401, {"error": "bad key"}
                else:
                    status, payload = sim._answer(self.command, parts.path, parse_qs(parts.query), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:   # quiet
                pass

        return Handler
