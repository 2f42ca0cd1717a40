"""Consent pages and authorisation codes, as every simulated platform serves them.

A sandbox app has no seller to click "Approve": the consent page approves at
once and redirects (302) to the ``redirect_uri`` with a fresh code and the
``state`` it was given. ``sandbox_decision=deny`` in the consent URL's query
(sandbox only) makes it decline instead: the redirect carries
``error=access_denied``. A code lives ``ttl_s`` (platform seconds), belongs to
the client it was issued to and to its redirect URI, and is exchanged once.
"""

from __future__ import annotations

import html
import secrets
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Callable

from crossdock.sandbox.http import Request, Response, text_response

__all__ = ["AuthCodes", "declined", "page", "redirect"]


@dataclass
class _Code:
    account: str
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


class AuthCodes:
    """Authorisation codes of one simulated platform."""

    def __init__(self, now: Callable[[], float], *, ttl_s: float = 300.0, prefix: str = "") -> None:
        self._now = now
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self.issued = 0
        self.exchanged = 0

    def issue(self, account: str, *, client_id: str, redirect_uri: str) -> str:
        code = self.prefix + secrets.token_urlsafe(24)
        with self._lock:
            now = self._now()
            self._codes = {k: c for k, c in self._codes.items() if c.expires_at > now - 86_400}
            self._codes[code] = _Code(account, client_id, redirect_uri, now + self.ttl_s)
            self.issued += 1
        return code

    def redeem(self, code: str | None, *, client_id: str, redirect_uri: str | None) -> str | None:
        """The account ``code`` was issued for, once; None when it is unknown, used, expired, another
        client's, or issued for another redirect URI (``redirect_uri`` None: not checked)."""
        with self._lock:
            rec = self._codes.get(code or "")
            if rec is None or rec.used or rec.expires_at <= self._now() or rec.client_id != client_id:
                return None
            if redirect_uri is not None and rec.redirect_uri != redirect_uri:
                return None
            rec.used = True
            self.exchanged += 1
            return rec.account


def declined(req: Request) -> bool:
    """The sandbox-only switch: ``sandbox_decision=deny`` on the consent URL."""
    return (req.arg("sandbox_decision") or "").lower() in ("deny", "decline", "denied")


def redirect(target: str, params: dict[str, str]) -> Response:
    """302 to ``target`` with ``params`` added to its query."""
    split = urllib.parse.urlsplit(target)
    query = urllib.parse.parse_qsl(split.query, keep_blank_values=True) + list(params.items())
    location = urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(query)))
    return Response(302, b"", {"Location": location, "Cache-Control": "no-store"})


def page(status: int, text: str) -> Response:
    """A consent page that cannot go on (unknown app, no redirect URI)."""
    return text_response(f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>", status,
                         content_type="text/html; charset=utf-8")
