"""Every table crossdock stores, gathered in one MetaData for Alembic.

Tables live next to the code that owns them (the domain in db/models.py, quota
buckets in ratelimit, FX rates in mapping); importing them here registers them
on ``Base.metadata``.
"""

from __future__ import annotations

import importlib

from crossdock.db.base import Base

TABLE_MODULES = (
    "crossdock.db.models",
    "crossdock.ratelimit.backends.sql",
    "crossdock.mapping.fx_store",
    "crossdock.sync_engine.dirty",
    "crossdock.sync_engine.unseen",
    "crossdock.sync_engine.liveness",
    "crossdock.backups.tables",
    "crossdock.audit",
    "crossdock.retention",
    "crossdock.alerts.table",
    "crossdock.doctor.stock_watch",
    "crossdock.access.tables",
    "crossdock.events.tables",
)

for _name in TABLE_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a module still being written must not break the rest
        if not exc.name or not _name.startswith(exc.name):
            raise

metadata = Base.metadata
