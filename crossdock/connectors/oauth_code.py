"""The OAuth authorisation-code grant as the platforms share it: the token
endpoint's answer to a code (``{"error", "error_description"}`` when refused)
and the POST that exchanges one. Used by each platform's
``PlatformSpec.connect`` (crossdock/platforms/connect.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from crossdock.connectors.http import CallContext, json_body, send
from crossdock.errors import AuthError, CrossdockError

__all__ = ["code_error", "post_code"]


def code_error(resp: httpx.Response, ctx: CallContext) -> CrossdockError | None:
    """A refused code exchange: ``invalid_client`` is XD-AUTH-004, any other 4xx
    (``invalid_grant``: a code used twice, expired or unknown; a redirect URI that
    differs) XD-AUTH-014. 429 and 5xx: None (the generic table: retried or XD-NET)."""
    if not 400 <= resp.status_code < 500 or resp.status_code == 429:
        return None
    try:
        body = resp.json()
    except ValueError:
        body = None
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    text = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    detail = f"{ctx.operation}: HTTP {resp.status_code} {error or 'error'}" + (f": {text}" if text else "")
    if error == "invalid_client":
        return AuthError("XD-AUTH-004", channel=ctx.channel, detail=detail)
    return AuthError("XD-AUTH-014", channel=ctx.channel, detail=detail)


def post_code(url: str, form: Mapping[str, str], ctx: CallContext, *, headers: Mapping[str, str] | None = None,
              timeout_s: float = 30.0, http: httpx.Client | None = None) -> dict[str, Any]:
    """POST the code exchange form to ``url``; the JSON answer (a dict), or a coded error.
    Never retried: a code works once."""
    client = http or httpx.Client()
    try:
        request = client.build_request("POST", url, data=dict(form),
                                       headers={"Accept": "application/json", **dict(headers or {})})
        resp = send(client, request, ctx, timeout_s=timeout_s, platform_error=code_error)
        body = json_body(resp, ctx)
    finally:
        if http is None:
            client.close()
    if not isinstance(body, dict) or not body.get("access_token") and not body.get("refresh_token"):
        raise AuthError("XD-AUTH-014", channel=ctx.channel, detail=f"{ctx.operation}: the answer holds no token")
    return body
