"""The simulated eBay's Developer Analytics API: the daily call limits and
what is left of them, per application and per user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.sandbox.ebay import render
from crossdock.sandbox.ebay.model import DAY_S, day_index, iso_ms
from crossdock.sandbox.ebay.render import rest_error
from crossdock.sandbox.ebay.rest import ANA
from crossdock.sandbox.http import Request, Response, json_response

if TYPE_CHECKING:
    from crossdock.sandbox.ebay.sim import EbaySim


def register(sim: EbaySim) -> None:
    clock = sim.clock

    def analytics(req: Request, user: bool) -> Response:
        tok = sim.bearer(req)
        if tok is None:
            return render.invalid_access_token()
        if user and tok.app:
            return render.access_denied()
        now = clock.timestamp()
        reset = iso_ms((day_index(now) + 1) * DAY_S)
        rows = []
        for ctx, name, version, api in (("sell", "inventory", "v1", "sell.inventory"),
                                        ("sell", "fulfillment", "v1", "sell.fulfillment"),
                                        ("TradingAPI", "TradingAPI", "", "trading")):
            if (req.arg("api_context") or ctx).lower() != ctx.lower():
                continue
            if (req.arg("api_name") or name).lower() != name.lower():
                continue
            limit = sim.api_limit(api)
            used = sim.quota.used(tok.username, api, now)
            rows.append({"apiContext": ctx, "apiName": name, "apiVersion": version, "resources": [
                {"name": api if api != "trading" else "TradingAPI",
                 "rates": [{"count": used, "limit": limit, "remaining": max(0, limit - used), "reset": reset,
                            "timeWindow": DAY_S}]}]})
        if not rows:
            return rest_error(404, 90001, "API_ANALYTICS", "No rate limits found for the given api_context "
                                                           "and api_name.")
        return json_response({"rateLimits": rows})

    @sim.op("GET", ANA + "/rate_limit/", "getRateLimits", account=sim.rest_username)
    def get_rate_limits(req: Request) -> Response:
        return analytics(req, user=False)

    @sim.op("GET", ANA + "/user_rate_limit/", "getUserRateLimits", account=sim.rest_username)
    def get_user_rate_limits(req: Request) -> Response:
        return analytics(req, user=True)
