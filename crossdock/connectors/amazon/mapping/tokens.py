"""Login with Amazon: the refresh-token form."""

from __future__ import annotations

# ------------------------------------------------------------------ auth and RDT


def lwa_form(*, client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id,
            "client_secret": client_secret}
