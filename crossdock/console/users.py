"""The Users page (admin): the users with their roles and API tokens, a new
user with a first password, a new password, disabling one — what ``crossdock
users add|passwd|disable`` do, through the same functions, audited as the
admin who pressed the button (``via console``). No hash or token is ever shown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crossdock import audit
from crossdock.access.roles import ROLES, require
from crossdock.access.users import Account, add_user, disable_user, set_password, users_doc
from crossdock.console.guard import check_csrf, csrf_for, page_user

__all__ = ["ROUTES"]


def users_page(request: Request) -> Response:
    user = page_user(request, "users.manage")
    return request.app.state.templates.TemplateResponse(request, "users.html", {
        "user": user, "csrf": csrf_for(request), "users": users_doc(request.app.state.db)["users"],
        "roles": ROLES, "done": request.query_params.get("done")})


async def _admin_form(request: Request) -> tuple[Account, dict[str, Any]]:
    user: Account = await run_in_threadpool(page_user, request)
    form = await check_csrf(request)
    require(user.name, user.role, "users.manage")
    return user, form


def _as(account: Account, fn: Any, *args: Any) -> Any:
    with audit.acting_as(account.name, "console"):
        return fn(*args)


def _done(text: str) -> Response:
    return RedirectResponse("/users?" + urlencode({"done": text}), status_code=303)


async def user_add(request: Request) -> Response:
    admin, form = await _admin_form(request)
    name, role = str(form.get("name") or "").strip(), str(form.get("role") or "")
    doc = await run_in_threadpool(_as, admin, add_user, request.app.state.db, name, role,
                                  str(form.get("password") or ""))
    return _done(f"user {doc['name']} added ({doc['role']})")


async def user_passwd(request: Request) -> Response:
    admin, form = await _admin_form(request)
    name = request.path_params["name"]
    await run_in_threadpool(_as, admin, set_password, request.app.state.db, name, str(form.get("password") or ""))
    return _done(f"user {name}: new password (their sessions ended)")


async def user_disable(request: Request) -> Response:
    admin, _ = await _admin_form(request)
    name = request.path_params["name"]
    doc = await run_in_threadpool(_as, admin, disable_user, request.app.state.db, name)
    return _done(f"user {name} disabled ({doc['tokens_revoked']} API token(s) revoked)")


ROUTES = [Route("/users", users_page), Route("/users/add", user_add, methods=["POST"]),
          Route("/users/{name}/passwd", user_passwd, methods=["POST"]),
          Route("/users/{name}/disable", user_disable, methods=["POST"])]
