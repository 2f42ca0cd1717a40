"""The text a Prometheus scrape gets: what the console's ``/metrics`` route
returns and ``crossdock sync metrics`` prints or writes for node-exporter's
textfile collector.

No web framework here: :func:`exposition` takes the request's ``Accept``
header and returns the body and its content type, so any server can mount it.
Each call builds its own registry around a fresh :class:`StateCollector`:
nothing is shared between scrapes or with prometheus_client's global registry
(which holds the process's own metrics, not the engine's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, write_to_textfile

from crossdock.metrics.collector import StateCollector

__all__ = ["exposition", "registry_for", "write_textfile"]


def registry_for(cfg: Any, db: Any, *, now: Callable[[], dt.datetime] | None = None) -> CollectorRegistry:
    """A registry holding only a :class:`StateCollector` on ``db``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(cfg, db, **({"now": now} if now else {})))
    return registry


def exposition(cfg: Any, db: Any, *, accept: str | None = None,
               now: Callable[[], dt.datetime] | None = None) -> tuple[bytes, str]:
    """(body, content type) of one scrape, read from ``db`` now: the Prometheus
    text format, or OpenMetrics when ``accept`` asks for it."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry_for(cfg, db, now=now)), content_type


def write_textfile(cfg: Any, db: Any, path: str | Path) -> None:
    """Write one scrape to ``path`` (a ``.prom`` file) the way node-exporter's
    textfile collector needs it: to a temporary file beside it, then renamed,
    so the collector never reads half a file."""
    write_to_textfile(str(path), registry_for(cfg, db))
