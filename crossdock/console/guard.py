"""Who a request is and whether it may: session cookies for pages, bearer
tokens for ``/api/``, CSRF on every page POST, and refusals as coded errors.

Every refusal is a :class:`~crossdock.errors.CrossdockError` raised by a
handler and turned into a response in one place (:func:`error_response`):
a page with the code, meaning and remedy, or ``{"error": …}`` under ``/api/``,
with the status the code calls for. Nothing is hidden silently.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from crossdock.access.roles import require
from crossdock.access.sessions import csrf_ok, csrf_token, session_account
from crossdock.access.users import Account, user_for_token
from crossdock.errors import AccessError, CrossdockError

__all__ = ["PRE_COOKIE", "SESSION_COOKIE", "api_user", "check_csrf", "csrf_for", "error_response", "is_api",
           "page_user", "set_cookie"]

SESSION_COOKIE = "xd_session"
PRE_COOKIE = "xd_pre"           # the visitor's cookie before login: what the login form's CSRF token signs

# The HTTP status each code calls for (others: 400 for a person's mistake, 404 for an unknown thing)
_STATUS = {"XD-ACCESS-002": 401, "XD-ACCESS-003": 429, "XD-ACCESS-004": 403, "XD-ACCESS-005": 403,
           "XD-ACCESS-006": 403, "XD-ACCESS-007": 401, "XD-ACCESS-009": 401, "XD-CFG-007": 404}


def is_api(request: Request) -> bool:
    """Machine-facing paths (the JSON API, the Prometheus scrape): refusals as JSON, never a login page."""
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    """HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS
    (uvicorn reads X-Forwarded-Proto behind a proxy)."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def page_user(request: Request, action: str = "read") -> Account:
    """The logged-in user, allowed ``action``; XD-ACCESS-009 / -005 otherwise."""
    account = session_account(request.app.state.db, request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise AccessError("XD-ACCESS-009", detail="log in first")
    require(account.name, account.role, action)
    return account


def api_user(request: Request, action: str = "read") -> Account:
    """The bearer token's user, allowed ``action``; XD-ACCESS-007 / -005 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessError("XD-ACCESS-007", detail="send Authorization: Bearer TOKEN (crossdock users token NAME)")
    account = user_for_token(request.app.state.db, token.strip())
    require(account.name, account.role, action)
    return account


def csrf_for(request: Request, cookie: str | None = None) -> str:
    value = cookie if cookie is not None else request.cookies.get(SESSION_COOKIE, "")
    return csrf_token(request.app.state.csrf_key, value) if value else ""


async def check_csrf(request: Request, cookie_name: str = SESSION_COOKIE) -> dict[str, Any]:
    """The POSTed form, once its ``csrf`` field proved it came from our own page
    (XD-ACCESS-006 otherwise: nothing is done)."""
    form = dict(await request.form())
    if not csrf_ok(request.app.state.csrf_key, request.cookies.get(cookie_name), form.get("csrf")):
        raise AccessError("XD-ACCESS-006", detail="the form's token is missing or is not this session's")
    return form


def error_response(request: Request, exc: Exception) -> Response:
    """A refusal or a person's mistake as its code: JSON under /api/, a page otherwise."""
    assert isinstance(exc, CrossdockError)
    status = _STATUS.get(exc.code, 400 if exc.code.startswith(("XD-CFG", "XD-ACCESS")) else 500)
    headers = {"Retry-After": str(int(exc.retry_after_s))} if exc.retry_after_s else None
    if is_api(request):
        return JSONResponse({"error": exc.to_dict()}, status_code=status, headers=headers)
    if exc.code == "XD-ACCESS-009" and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return request.app.state.templates.TemplateResponse(
        request, "refused.html", {"error": exc, "status": status, "user": None}, status_code=status, headers=headers)
