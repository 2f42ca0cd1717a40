"""Shopify's OAuth token refresh: the form sent and the answer parsed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from crossdock.connectors.base import RefreshResult
from crossdock.errors import MappingError

# --- tokens -------------------------------------------------------------------------------------

def token_refresh_form(*, client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {"client_id": client_id, "client_secret": client_secret, "grant_type": "refresh_token",
            "refresh_token": refresh_token}


def parse_token_response(payload: Mapping[str, Any], *, now: dt.datetime) -> RefreshResult:
    try:
        access = str(payload["access_token"])
        expires_in = float(payload.get("expires_in") or 3600)
        refresh = payload.get("refresh_token")
        refresh_in = payload.get("refresh_token_expires_in")
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError("XD-MAP-010", detail=f"Shopify token response: {type(exc).__name__}: {exc}") from exc
    return RefreshResult(access_token=access, access_expires_at=now + dt.timedelta(seconds=expires_in),
                         refresh_token=str(refresh) if refresh else None,
                         refresh_expires_at=(now + dt.timedelta(seconds=float(refresh_in))) if refresh_in else None)
