"""Connecting a seller account: the part of the OAuth authorisation-code flow
each platform does its own way (``PlatformSpec.connect``).

``crossdock auth connect`` (:mod:`crossdock.connectors.account_connect`) runs
the flow without knowing the platform: a loopback server on 127.0.0.1, a
random ``state`` checked on return, a timeout, the storage of the tokens.
A platform gives, for one configured channel, an :class:`AccountConnect`:

* ``consent_url(state=, redirect_uri=)``: the page where the seller approves
  the application;
* ``code_from_callback(params)``: the authorisation code in the query of the
  callback, once the platform's own checks pass (Shopify: the hmac and the
  shop); the state and an ``error`` answer are checked before, generically;
* ``exchange_code(code, redirect_uri=, now=)``: the tokens, from the
  platform's token endpoint, as a :class:`Grant`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["AccountConnect", "Grant"]


@dataclass(frozen=True)
class Grant:
    """The tokens an authorisation code was exchanged for (values never logged)."""

    refresh_token: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    access_expires_at: dt.datetime | None = None
    #: The refresh token's end, when the platform says (eBay ``refresh_token_expires_in``).
    refresh_expires_at: dt.datetime | None = None
    #: The account the platform says was authorised (Amazon ``selling_partner_id``, the Shopify shop).
    account: str | None = None


class AccountConnect(Protocol):
    """One channel's platform side of ``crossdock auth connect`` (see the module doc)."""

    def consent_url(self, *, state: str, redirect_uri: str) -> str: ...

    def code_from_callback(self, params: Mapping[str, str]) -> str: ...

    def exchange_code(self, code: str, *, redirect_uri: str, now: dt.datetime) -> Grant: ...
