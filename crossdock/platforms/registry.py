"""Which platforms crossdock knows: the one place a platform plugs in.

Discovery, on first use (karrio's ``plugins.py`` does the same for carriers):

1. the built-in platform packages, named in :data:`BUILTIN` and imported by
   name, each exporting ``PLATFORM = PlatformSpec(...)``;
2. Python entry points of the group ``crossdock.platforms`` (third-party
   platforms, installed packages declare them in their ``pyproject.toml``::

       [project.entry-points."crossdock.platforms"]
       walmart = "crossdock_walmart:PLATFORM"

   an entry may name the spec itself or a module exporting ``PLATFORM``);
3. :func:`register` at run time (tests, or an application embedding crossdock).

Nothing here imports a platform statically, so every part of crossdock may
ask the registry without depending on any platform. An unknown name is
XD-CFG-003 (it comes from configuration); a platform whose package fails to
import is XD-CFG-003 too, naming the package and the error, and the others
still load.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from crossdock.errors import ConfigError
from crossdock.platforms.spec import PlatformSpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "crossdock.platforms"
#: The platform packages shipped with crossdock, imported by name.
BUILTIN: tuple[str, ...] = ("crossdock.connectors.amazon", "crossdock.connectors.ebay", "crossdock.connectors.shopify")

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "RegistryView", "find", "fulfilled_by_platform", "names", "platform", "platforms", "register",
           "registered", "unregister", "version"]

_lock = threading.RLock()
_specs: dict[str, PlatformSpec] = {}
_failed: dict[str, str] = {}          # where → why it could not be loaded
_loaded = False
_version = 0


def _spec_of(target: Any, where: str) -> PlatformSpec:
    spec = getattr(target, "PLATFORM", target)
    if not isinstance(spec, PlatformSpec):
        raise TypeError(f"{where} exports {type(spec).__name__}, not a PlatformSpec")
    return spec


def _add(spec: PlatformSpec, where: str) -> None:
    global _version
    known = _specs.get(spec.name)
    if known is not None and known is not spec:
        log.warning("platform %s from %s ignored: already registered", spec.name, where)
        return
    _specs[spec.name] = spec
    _version += 1


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for module in BUILTIN:
            try:
                _add(_spec_of(importlib.import_module(module), module), module)
            except Exception as exc:  # noqa: BLE001 - one broken platform must not hide the others
                _failed[module] = f"{type(exc).__name__}: {exc}"
                log.error("platform package %s could not be loaded: %s", module, exc)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            where = f"entry point {ep.name} = {ep.value}"
            try:
                _add(_spec_of(ep.load(), where), where)
            except Exception as exc:  # noqa: BLE001 - same: report it, keep the others
                _failed[where] = f"{type(exc).__name__}: {exc}"
                log.error("platform %s could not be loaded: %s", where, exc)
        _loaded = True


def platforms() -> tuple[PlatformSpec, ...]:
    """Every known platform, by name."""
    _load()
    with _lock:
        return tuple(_specs[n] for n in sorted(_specs))


def names() -> tuple[str, ...]:
    return tuple(p.name for p in platforms())


def find(name: str | None) -> PlatformSpec | None:
    """The platform ``name``, or None when none is known by that name."""
    _load()
    with _lock:
        return _specs.get(name) if isinstance(name, str) else None


def platform(name: str | None) -> PlatformSpec:
    """The platform ``name``; XD-CFG-003 naming the known ones when there is none."""
    spec = find(name)
    if spec is None:
        broken = "; ".join(f"{where} failed to load ({why})" for where, why in sorted(_failed.items()))
        raise ConfigError("XD-CFG-003", detail=f"unknown platform {name!r} (known: {', '.join(names()) or 'none'})"
                                               + (f"; {broken}" if broken else ""))
    return spec


# (registry version, every platform's fulfilment values lower-cased, the specs that decide for themselves)
_fulfilment: tuple[int, frozenset[str], tuple[PlatformSpec, ...]] = (-1, frozenset(), ())


def fulfilled_by_platform(fulfillment_channel: str | None) -> bool:
    """True when an order's ``fulfillment_channel`` says a platform ships it
    itself (its ``PlatformSpec.fulfilled_by_platform``, e.g. Amazon FBA):
    nothing for crossdock to reserve, pick or ship. Asked for every order an
    import stores: the values are gathered once per registry version."""
    global _fulfilment
    seen, values, own = _fulfilment
    if seen != _version or not _loaded:
        _load()
        with _lock:        # the version and the specs it counts, together
            seen, specs = _version, tuple(_specs.values())
        values = frozenset(v.lower() for spec in specs if type(spec).fulfils is PlatformSpec.fulfils
                           for v in spec.fulfilled_by_platform)
        own = tuple(spec for spec in specs if type(spec).fulfils is not PlatformSpec.fulfils)
        _fulfilment = (seen, values, own)
    value = (fulfillment_channel or "").strip().lower()
    return (bool(value) and value in values) or any(spec.fulfils(fulfillment_channel) for spec in own)


def register(spec: PlatformSpec) -> PlatformSpec:
    """Add ``spec`` now (replacing nothing: a name is registered once)."""
    _load()
    with _lock:
        if spec.name in _specs and _specs[spec.name] is not spec:
            raise ConfigError("XD-CFG-003", detail=f"platform {spec.name!r} is already registered")
        _add(spec, "register()")
    return spec


def unregister(name: str) -> None:
    global _version
    with _lock:
        if _specs.pop(name, None) is not None:
            _version += 1


@contextlib.contextmanager
def registered(spec: PlatformSpec) -> Iterator[PlatformSpec]:
    """``spec`` is known inside the block only (a test's own platform)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.name)


def version() -> int:
    """Changes whenever a platform is added or removed (for caches of derived tables)."""
    _load()
    return _version


K = TypeVar("K")
V = TypeVar("V")


class RegistryView(Mapping[K, V]):
    """A read-only mapping derived from every known platform, rebuilt when the
    registry changes: e.g. the usage plans of all platforms keyed
    ``(platform, operation)``. Building it costs nothing until it is read, so
    a module can keep one as a constant without loading any platform."""

    def __init__(self, derive: Callable[[PlatformSpec], Mapping[K, V]]) -> None:
        self._derive = derive
        self._cache: tuple[int, dict[K, V]] | None = None

    def _table(self) -> dict[K, V]:
        current = version()
        cache = self._cache
        if cache is None or cache[0] != current:
            table: dict[K, V] = {}
            for spec in platforms():
                table.update(self._derive(spec))
            cache = (current, table)
            self._cache = cache
        return cache[1]

    def __getitem__(self, key: K) -> V:
        return self._table()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"RegistryView({self._table()!r})"
