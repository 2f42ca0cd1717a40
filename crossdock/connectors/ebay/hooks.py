"""eBay's events receiver (``/hooks/ebay/CHANNEL``): the Notification API's
challenge, signature and topics.

- The channel is the endpoint's: each eBay channel's destination is
  ``public_url/hooks/ebay/CHANNEL`` (``crossdock events setup`` creates it),
  with a verification token derived from crossdock's secret key.
- ``GET ?challenge_code=C``: ``{"challengeResponse": hex SHA-256(C +
  verificationToken + endpoint)}``.
- ``POST``: ``X-EBAY-SIGNATURE`` is base64 of ``{"alg": "ecdsa", "kid", "signature",
  "digest": "SHA1"}``; the body is checked with ECDSA/SHA-1 against the public
  key ``kid`` (``getPublicKey``, cached; an unknown kid is remembered as such
  for a minute so forged kids cannot make crossdock call eBay per request).
  The dedupe key is ``notificationId``.
- ORDER_CONFIRMATION (one per line item) names the order to read;
  MARKETPLACE_ACCOUNT_DELETION names a buyer to erase, on every eBay channel
  of the same application. Answered 204, as eBay expects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crossdock.connectors.events import Delivery, EventReceiver, EventSetup, HookReply, HookRequest, header
from crossdock.connectors.ebay.settings import EbaySettings
from crossdock.errors import CrossdockError, EventError

if TYPE_CHECKING:
    from crossdock.connectors.ebay.connector import EbayConnector

__all__ = ["EbayReceiver", "challenge_response", "parse_signature", "receiver"]

ORDER_CONFIRMATION = "ORDER_CONFIRMATION"
ACCOUNT_DELETION = "MARKETPLACE_ACCOUNT_DELETION"
UNKNOWN_KID_S = 60.0


def challenge_response(code: str, token: str, endpoint: str) -> str:
    return hashlib.sha256((code + token + endpoint).encode("utf-8")).hexdigest()


def parse_signature(value: str | None) -> dict[str, str] | None:
    """``X-EBAY-SIGNATURE`` decoded, or None when it is not eBay's shape."""
    if not value:
        return None
    try:
        doc = json.loads(base64.b64decode(value.strip(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in ("kid", "signature")):
        return None
    if str(doc.get("alg", "")).lower() != "ecdsa" or str(doc.get("digest", "")).upper() != "SHA1":
        return None
    return {k: str(v) for k, v in doc.items()}


class EbayReceiver(EventReceiver):
    ack_status = 204

    def __init__(self, setup: EventSetup) -> None:
        self.channels: dict[str, EbaySettings] = dict(setup.channels)
        self.setup = setup
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._unknown: dict[str, float] = {}
        self._lock = threading.Lock()

    def endpoint(self, channel: str) -> str:
        return f"{self.setup.public_url}/hooks/ebay/{quote(channel, safe='')}" if self.setup.public_url else ""

    def verification_token(self, channel: str) -> str:
        return self.setup.secret(f"ebay-verification:{channel}")

    def subscription_secret(self, channel: str) -> str:
        return self.verification_token(channel)

    def _channel(self, request: HookRequest) -> str:
        if not request.key or request.key not in self.channels:
            raise EventError("XD-EVT-003", detail=f"/hooks/ebay/{(request.key or '')[:64]} is no eBay channel's "
                                                  "endpoint")
        return request.key

    def answer(self, request: HookRequest) -> HookReply:
        channel = self._channel(request)
        code = request.query.get("challenge_code") or ""
        if not code:
            raise EventError("XD-EVT-004", channel=channel, detail="GET without challenge_code")
        return HookReply(200, {"challengeResponse": challenge_response(
            code, self.verification_token(channel), self.endpoint(channel))})

    def _key(self, channel: str, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                return key
            if self._unknown.get(kid, 0.0) > time.monotonic():
                raise EventError("XD-EVT-001", channel=channel, detail=f"unknown signing key {kid[:64]}")
        try:
            pem = cast("EbayConnector", self.setup.connector(channel)).notification_public_key(kid)
        except CrossdockError as exc:
            if exc.code == "XD-PLATFORM-002" or exc.context.get("status") == 404:
                with self._lock:
                    self._unknown[kid] = time.monotonic() + UNKNOWN_KID_S
                raise EventError("XD-EVT-001", channel=channel, detail=f"eBay knows no key {kid[:64]}") from exc
            raise EventError("XD-EVT-007", channel=channel, detail=f"getPublicKey {kid[:64]}: {exc.code}") from exc
        try:
            loaded = serialization.load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise EventError("XD-EVT-007", channel=channel, detail="getPublicKey answered no usable key") from exc
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise EventError("XD-EVT-007", channel=channel, detail="getPublicKey answered a key that is not ECDSA")
        with self._lock:
            self._keys[kid] = loaded
        return loaded

    def receive(self, request: HookRequest) -> list[Delivery]:
        channel = self._channel(request)
        sig = parse_signature(header(request.headers, "X-EBAY-SIGNATURE"))
        if sig is None:
            raise EventError("XD-EVT-001", channel=channel, detail="no or malformed X-EBAY-SIGNATURE")
        key = self._key(channel, sig["kid"])
        try:
            key.verify(base64.b64decode(sig["signature"]), request.body, ec.ECDSA(hashes.SHA1()))
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise EventError("XD-EVT-001", channel=channel, detail="X-EBAY-SIGNATURE does not match the body") from exc
        doc = _json(request.body, channel)
        topic = str((doc.get("metadata") or {}).get("topic") or "")
        note = doc.get("notification") or {}
        nid = str(note.get("notificationId") or "") if isinstance(note, Mapping) else ""
        data = note.get("data") if isinstance(note, Mapping) else None
        if not topic or not nid or not isinstance(data, Mapping):
            raise EventError("XD-EVT-004", channel=channel, detail="no topic, notificationId or data")
        if topic == ORDER_CONFIRMATION:
            order_id = str(data.get("orderId") or "").strip()
            if not order_id:
                raise EventError("XD-EVT-004", channel=channel, detail=f"{topic} without orderId")
            return [Delivery(channel, topic, nid, (order_id,))]
        if topic == ACCOUNT_DELETION:
            buyer = {k: str(data[k]) for k in ("username", "userId") if data.get(k)}
            if not buyer:
                raise EventError("XD-EVT-004", channel=channel, detail=f"{topic} without username or userId")
            app = self.channels[channel].client_id
            return [Delivery(name, topic, nid, erase=buyer)
                    for name, s in sorted(self.channels.items()) if s.client_id == app]
        return [Delivery(channel, topic, nid)]


def _json(body: bytes, channel: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError("XD-EVT-004", channel=channel, detail="the body is not JSON") from exc
    if not isinstance(doc, dict):
        raise EventError("XD-EVT-004", channel=channel, detail="the body is not a JSON object")
    return doc


def receiver(setup: EventSetup) -> EbayReceiver:
    """``PlatformSpec.events``: the receiver for the configured eBay channels."""
    return EbayReceiver(setup)
