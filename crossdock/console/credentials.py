"""New credentials for a channel from the Channels page (admin): what
``crossdock auth set CHANNEL --refresh-token-env VAR [--authorised-on DATE]
[--client-secret-rotated-on DATE]`` does, through the same function
(:func:`crossdock.connectors.credentials.set_credentials`: the token encrypted,
the dates recorded, the channel resumed), audited as the admin via console.

The token comes in the form's password field over the console's own
connection (TLS or a loopback proxy: ``crossdock serve`` refuses anything
else); it is never shown back, logged or put in the audit record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crossdock import audit
from crossdock.access.roles import require
from crossdock.access.users import Account
from crossdock.console.guard import check_csrf, page_user
from crossdock.errors import ConfigError

__all__ = ["ROUTES"]


def _day(text: Any, field: str) -> dt.datetime | None:
    value = str(text or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError("XD-CFG-009", detail=f"{field} {value!r}: write a date as YYYY-MM-DD") from None
    if day > dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1):
        raise ConfigError("XD-CFG-009", detail=f"{field} {value!r} is in the future")
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def _store(cfg: Any, db: Any, admin: Account, channel: str, form: dict[str, Any]) -> dict[str, Any]:
    from crossdock.connectors.credentials import set_credentials
    from crossdock.secrets import remember

    ch = cfg.channel(channel)
    token = str(form.get("refresh_token") or "").strip()
    if not token:
        raise ConfigError("XD-CFG-009", channel=channel, detail="the new refresh token is missing")
    authorised = _day(form.get("authorised_on"), "authorised on")
    rotated = _day(form.get("client_secret_rotated_on"), "client secret rotated on")
    remember(token)                    # redacted from every log line from now on
    with audit.acting_as(admin.name, "console"):
        doc: dict[str, Any] = set_credentials(db, ch, refresh_token=token, authorised_at=authorised,
                                              client_secret_rotated_at=rotated)
    return doc


async def channel_credentials(request: Request) -> Response:
    user: Account = await run_in_threadpool(page_user, request)
    form = await check_csrf(request)
    require(user.name, user.role, "credentials")
    name = request.path_params["name"]
    doc = await run_in_threadpool(_store, request.app.state.cfg, request.app.state.db, user, name, form)
    dates = [f"{label} valid to {doc[key][:10]}" for key, label in (
        ("authorisation_expires_at", "authorisation"), ("client_secret_expires_at", "client secret"),
        ("refresh_expires_at", "refresh token")) if doc.get(key)]
    done = "; ".join([f"{name}: new credentials stored", *dates])
    if doc.get("was_paused_with"):
        done += f"; resumed (was paused with {doc['was_paused_with']})"
    return RedirectResponse("/channels?" + urlencode({"done": done}), status_code=303)


ROUTES = [Route("/channels/{name}/credentials", channel_credentials, methods=["POST"])]
