"""Imported by every ``crossdock worker`` process (``dramatiq crossdock.worker_boot``):
sets the broker from the configuration, then imports the actor modules so
they bind to it."""

from __future__ import annotations

import importlib

from crossdock import config
from crossdock.runtime import setup_broker

ACTOR_MODULES = ("crossdock.sync_engine.actors",)

cfg = config.load()
broker = setup_broker(cfg.broker_url)

for _name in ACTOR_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if not exc.name or not _name.startswith(exc.name):
            raise
