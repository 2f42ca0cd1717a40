"""The exception classes. Each carries a catalogue code plus the context a
support person needs (channel, entity, detail) and never a secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crossdock.errors.catalogue import ErrorSpec, lookup


class CrossdockError(Exception):
    """Base of every error crossdock raises on purpose.

    ``code`` must exist in the catalogue (checked at construction, so a typo
    fails loudly in tests rather than reaching a support person).
    ``retry_after_s`` is set when waiting and trying again is the remedy
    (quota, transient network); the engine uses it as the retry delay.
    """

    area: str = ""

    def __init__(
        self,
        code: str,
        *,
        detail: str = "",
        channel: str | None = None,
        entity: str | None = None,
        retry_after_s: float | None = None,
        **context: Any,
    ) -> None:
        spec = lookup(code)
        if self.area and spec.area != self.area:
            raise ValueError(f"{code} is not a {self.area} code (raised as {type(self).__name__})")
        self.spec: ErrorSpec = spec
        self.code = code
        self.detail = detail
        self.channel = channel
        self.entity = entity
        self.retry_after_s = retry_after_s
        self.context = context
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def remedy(self) -> str:
        return self.spec.remedy

    @property
    def retryable(self) -> bool:
        return self.spec.retryable

    @property
    def message(self) -> str:
        where = []
        if self.channel:
            where.append(f"channel {self.channel}")
        if self.entity:
            where.append(str(self.entity))
        prefix = f"[{self.code}] {self.spec.title}"
        if where:
            prefix += f" ({', '.join(where)})"
        return f"{prefix}: {self.detail}" if self.detail else prefix

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "title": self.spec.title,
            "message": self.message,
            "detail": self.detail,
            "remedy": self.spec.remedy,
            "retryable": self.spec.retryable,
        }
        if self.channel:
            out["channel"] = self.channel
        if self.entity:
            out["entity"] = self.entity
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        if self.context:
            out["context"] = {k: _plain(v) for k, v in self.context.items()}
        return out

    def __reduce__(self) -> tuple[Callable[..., CrossdockError], _Pickled]:
        # keep errors picklable across processes / brokers
        return (_rebuild, (type(self), self.code, self.detail, self.channel, self.entity,
                           self.retry_after_s, self.context))


# What pickling keeps of an error: its class, code, detail, channel, entity,
# retry_after_s and context.
_Pickled = tuple[type[CrossdockError], str, str, str | None, str | None, float | None, dict[str, Any]]


def _rebuild(cls: type[CrossdockError], code: str, detail: str, channel: str | None, entity: str | None,
             retry_after_s: float | None, context: dict[str, Any]) -> CrossdockError:
    return cls(code, detail=detail, channel=channel, entity=entity,
               retry_after_s=retry_after_s, **context)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class ConfigError(CrossdockError):
    area = "CFG"


class AuthError(CrossdockError):
    area = "AUTH"


class QuotaError(CrossdockError):
    area = "QUOTA"


class NetError(CrossdockError):
    area = "NET"


class PlatformError(CrossdockError):
    area = "PLATFORM"


class MappingError(CrossdockError):
    area = "MAP"


class InventoryError(CrossdockError):
    area = "INV"


class OrderError(CrossdockError):
    area = "ORD"


class ShippingError(CrossdockError):
    area = "SHIP"


class WarehouseError(CrossdockError):
    area = "WH"


class DataError(CrossdockError):
    area = "DATA"


class SyncError(CrossdockError):
    area = "SYNC"


class AccessError(CrossdockError):
    area = "ACCESS"


class EventError(CrossdockError):
    area = "EVT"


class ReturnError(CrossdockError):
    area = "RMA"


class RefundError(CrossdockError):
    area = "REF"
