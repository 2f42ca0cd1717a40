"""The Stock page: levels per SKU and warehouse, the units the platforms hold
themselves (Amazon FBA, a location of their own), their history, and an
adjustment with a reason (operator).

Read with ``stock show`` / ``stock history``'s document functions; the
adjustment is ``stock adjust``'s (:func:`crossdock.warehouse.operations.adjust_stock`
through the engine's ledger: the stock movement with its actor ``console:NAME``,
the sync event, the stock push and the audit record, in one transaction).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crossdock import audit
from crossdock.access.roles import allowed, require
from crossdock.access.users import Account
from crossdock.console.guard import check_csrf, csrf_for, page_user
from crossdock.errors import ConfigError

__all__ = ["ROUTES"]


def stock_page(request: Request) -> Response:
    from crossdock.warehouse.operations import history_doc, stock_doc

    user = page_user(request)
    sku = (request.query_params.get("sku") or "").strip()
    warehouse = (request.query_params.get("warehouse") or "").strip()
    db = request.app.state.db
    levels = stock_doc(db, sku=sku, warehouse=warehouse or None)["levels"] if sku else []
    platform = _platform_rows(db, sku) if sku and not warehouse else []
    history = history_doc(db, sku=sku or None, warehouse=warehouse or None, limit=50)
    can_adjust = allowed(user.role, "stock.adjust")      # a note only: the POST is refused with its code
    return request.app.state.templates.TemplateResponse(request, "stock.html", {
        "user": user, "csrf": csrf_for(request), "sku": sku, "warehouse": warehouse, "levels": levels,
        "history": history, "platform": platform, "can_adjust": can_adjust, "done": request.query_params.get("done")})


def _platform_rows(db: Any, sku: str) -> list[dict[str, Any]]:
    """The SKU's units held by the platforms themselves (Amazon FBA), as ``stock show`` shows them."""
    from crossdock.sync_engine.platform_stock import stock_rows

    with db.read() as s:
        return stock_rows(s, sku=sku)


def _adjust(db: Any, account: Account, form: dict[str, Any]) -> Any:
    from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER
    from crossdock.warehouse.operations import adjust_stock

    fields = {k: str(form.get(k) or "").strip() for k in ("sku", "warehouse", "delta", "reason", "reference")}
    missing = [k for k in ("sku", "warehouse", "delta", "reason") if not fields[k]]
    if missing:
        raise ConfigError("XD-CFG-009", detail=f"stock adjustment: {', '.join(missing)} missing")
    with audit.acting_as(account.name, "console"):
        return adjust_stock(db, fields["sku"], fields["warehouse"], fields["delta"], reason=fields["reason"],
                            reference=fields["reference"] or None, actor=f"console:{account.name}"[:100],
                            ledger=ENGINE_LEDGER)


async def stock_adjust(request: Request) -> Response:
    user: Account = await run_in_threadpool(page_user, request)
    form = await check_csrf(request)
    require(user.name, user.role, "stock.adjust")
    change = await run_in_threadpool(_adjust, request.app.state.db, user, form)
    done = f"{change.sku} @ {change.warehouse}: {change.delta:+d} → on hand {change.on_hand}"
    return RedirectResponse("/stock?" + urlencode({"sku": change.sku, "done": done}), status_code=303)


ROUTES = [Route("/stock", stock_page), Route("/stock/adjust", stock_adjust, methods=["POST"])]
