"""The sandbox's admin API (under ``admin_url``): stats, request log, seeding,
buyers, faults, token revocation and the clock. Used by tests, the demo,
benchmarks and operators rehearsing rules."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from crossdock.sandbox.core import BuyerProfile, CatalogueItem, Fault
from crossdock.sandbox.http import App, Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.core import Sandbox


def _bad(msg: str) -> Response:
    return json_response({"error": msg}, 400)


def build_admin_app(sb: "Sandbox") -> App:
    app = App("admin")

    @app.route("GET", "/")
    def describe(req: Request) -> Response:
        return json_response(sb.describe())

    @app.route("GET", "/clock")
    def clock(req: Request) -> Response:
        return json_response({"now": sb.clock.timestamp(), "iso": sb.clock.now().isoformat(),
                              **sb.clock.describe()})

    @app.route("GET", "/stats")
    def stats(req: Request) -> Response:
        out: dict[str, Any] = {"api": sb.stats.as_dict(), "market": sb.market.summary(),
                               "time_scale": sb.time_scale}
        for name, sim in sb.sims.items():
            out.setdefault("platforms", {})[name] = sim.extra_stats()
        out["sqs"] = sb.sqs.extra_stats()
        return json_response(out)

    @app.route("GET", "/sqs/{queue}")
    def sqs_queue(req: Request) -> Response:
        """What one sandbox SQS queue holds (nothing is received or hidden): for tests and the demo."""
        from crossdock.sandbox.sqs import QueueError

        try:
            q = sb.sqs.queues.by_name(req.path_params["queue"])
        except QueueError as exc:
            return json_response({"error": exc.message}, 404)
        return json_response({"url": sb.sqs.queues.url(q), "arn": q.arn, **sb.sqs.queues.counts(q),
                              "messages": sb.sqs.queues.bodies(q)})

    @app.route("POST", "/stats/reset")
    def stats_reset(req: Request) -> Response:
        sb.stats.reset()
        return json_response({"ok": True})

    @app.route("GET", "/requests")
    def requests_log(req: Request) -> Response:
        try:
            since = int(req.arg("since", "0") or 0)
            limit = int(req.arg("limit", "1000") or 1000)
        except ValueError:
            return _bad("since and limit must be integers")
        return json_response({"requests": sb.requests.since(since, platform=req.arg("platform"),
                                                            operation=req.arg("operation"), limit=limit)})

    @app.route("GET", "/sales")
    def sales(req: Request) -> Response:
        with sb.market.lock:
            return json_response({"sales": list(sb.market.sales)})

    @app.route("POST", "/seed")
    def seed(req: Request) -> Response:
        """Body: {"catalogue": [{sku, title, price, currency, stock, hs_code?, country_of_origin?,
        weight_g?}], "listings": {channel: {sku: qty | {quantity, price}}},
        "platform_stock": {channel: {sku: qty | {fulfillable, inbound_working, inbound_shipped,
        inbound_receiving, reserved, unfulfillable}}}} (units the platform holds itself: Amazon FBA)"""
        body = req.json() or {}
        try:
            for row in body.get("catalogue", []):
                sb.market.seed_item(CatalogueItem(
                    sku=str(row["sku"]), title=str(row.get("title") or row["sku"]),
                    price=Decimal(str(row.get("price", "10.00"))), currency=str(row.get("currency", "USD")),
                    physical_stock=int(row.get("stock", 0)), hs_code=row.get("hs_code"),
                    country_of_origin=row.get("country_of_origin"), weight_g=row.get("weight_g")))
            channels = sb.all_channels()
            for channel, listings in (body.get("listings") or {}).items():
                sim = channels.get(channel)
                if sim is None:
                    return _bad(f"unknown channel {channel!r}; channels: {sorted(channels)}")
                for sku, spec in listings.items():
                    if isinstance(spec, dict):
                        price = spec.get("price")
                        sim.set_listing(channel, sku, int(spec.get("quantity", 0)),
                                        Decimal(str(price)) if price is not None else None)
                    else:
                        sim.set_listing(channel, sku, int(spec))
            for channel, stock in (body.get("platform_stock") or {}).items():
                sim = channels.get(channel)
                hook = getattr(sim, "set_platform_stock", None)
                if hook is None:
                    return _bad(f"channel {channel!r} is unknown or its platform holds no stock of sellers")
                for sku, spec in stock.items():
                    hook(channel, sku, spec)
        except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
            return _bad(f"bad seed body: {exc!r}")
        return json_response({"ok": True, "catalogue": len(sb.market.catalogue)})

    @app.route("GET", "/channels")
    def channels(req: Request) -> Response:
        out = {}
        for ch, sim in sb.all_channels().items():
            with sim.lock:
                out[ch] = {"platform": sim.name, "listed": sim.listed(ch)}
        return json_response(out)

    @app.route("POST", "/buyers")
    def buyers(req: Request) -> Response:
        """Body: {"channels": {channel|"*": {orders_per_min, max_qty, cancel_probability, countries}},
        "running": true|false}"""
        body = req.json() or {}
        known = sb.all_channels()
        for ch, spec in (body.get("channels") or {}).items():
            targets = list(known) if ch == "*" else [ch]
            for t in targets:
                if t not in known:
                    return _bad(f"unknown channel {t!r}")
                sb.set_buyers(t, BuyerProfile(
                    orders_per_min=float(spec.get("orders_per_min", 2.0)), max_qty=int(spec.get("max_qty", 2)),
                    cancel_probability=float(spec.get("cancel_probability", 0.03)),
                    countries=tuple(spec.get("countries", ()))))
        if "running" in body:
            (sb.start_buyers if body["running"] else sb.stop_buyers)()
        return json_response({"ok": True, "running": sb._buyers_on.is_set()})

    @app.route("POST", "/buy")
    def buy(req: Request) -> Response:
        """One order now: {"channel": …} -> {"order_id": …}."""
        body = req.json() or {}
        channel = body.get("channel")
        sim = sb.all_channels().get(channel) if isinstance(channel, str) else None
        if sim is None or not isinstance(channel, str):
            return _bad(f"unknown channel {channel!r}")
        return json_response({"order_id": sb.buy_once(channel, sim)})

    @app.route("GET", "/history")
    def history(req: Request) -> Response:
        """One SKU's record: every quantity each channel listed (sandbox time, quantity) and
        every sale and cancel: what a rehearsal's oversell is judged from. ``?sku=``"""
        sku = req.arg("sku")
        if not sku:
            return _bad("give ?sku=")
        with sb.market.lock:
            listed = {ch: [list(h) for h in hist] for (ch, s), hist in sb.market.listed_history.items() if s == sku}
            sales = [x for x in sb.market.sales if x.get("sku") == sku]
            cancels = [x for x in sb.market.cancels if x.get("sku") == sku]
        return json_response({"sku": sku, "listed": listed, "sales": sales, "cancels": cancels})

    @app.route("GET", "/faults")
    def faults_list(req: Request) -> Response:
        return json_response({"faults": sb.faults.list()})

    @app.route("POST", "/faults")
    def faults_add(req: Request) -> Response:
        body = req.json() or {}
        try:
            f = sb.faults.add(Fault(kind=body["kind"], platform=body.get("platform", "*"),
                                    operation=body.get("operation", "*"),
                                    probability=float(body.get("probability", 1.0)),
                                    count=body.get("count"), delay_s=float(body.get("delay_s", 0.0))))
        except (KeyError, ValueError) as exc:
            return _bad(str(exc))
        return json_response(f.to_dict(), 201)

    @app.route("DELETE", "/faults")
    def faults_clear(req: Request) -> Response:
        fid = req.arg("id")
        sb.faults.clear(int(fid) if fid else None)
        return json_response({"ok": True})

    @app.route("POST", "/ratelimits")
    def ratelimits(req: Request) -> Response:
        body = req.json() or {}
        if "enabled" in body:
            sb.limits.enabled = bool(body["enabled"])
        if body.get("reset"):
            sb.limits.reset()
        return json_response({"enabled": sb.limits.enabled})

    @app.route("POST", "/events/{platform}")
    def event_faults(req: Request) -> Response:
        """Faults of a platform's events: body {"drop_probability", "duplicate_probability",
        "reorder_probability" (Shopify: creates held back), "delay_s" (eBay)}; answers the settings."""
        sim = sb.sims.get(req.path_params["platform"])
        hook = getattr(sim, "event_faults", None)
        if hook is None:
            return _bad("unknown platform, or one whose sandbox sends no events")
        try:
            return json_response({"ok": True, **hook(**(req.json() or {}))})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))

    @app.route("POST", "/auth/{platform}/{action}")
    def auth(req: Request) -> Response:
        """Credential scenarios: action = revoke_refresh_token | expire_access_tokens |
        expire_authorisation | revoke_client_secret. Body: {"account": …}."""
        sim = sb.sims.get(req.path_params["platform"])
        if sim is None:
            return _bad("unknown platform")
        hook = getattr(sim, "auth_scenario", None)
        if hook is None:
            return _bad("platform has no auth scenarios")
        body = req.json() or {}
        try:
            result = hook(req.path_params["action"], body.get("account"))
        except ValueError as exc:
            return _bad(str(exc))
        return json_response({"ok": True, **(result or {})})

    return app
