"""Alerts ahead of trouble (issue 15): the worker evaluates ``crossdock
doctor``'s checks on ``[sync] alerts_s`` and keeps one ``alerts`` row per
(code, channel, subject) until it clears, delivering an open message, a
reminder after ``[alerts] reminder_h`` and a resolved message to the
``[alerts.targets.NAME]`` apprise URLs that want it (:mod:`.rounds`).

Importing this package adds the ``alerts`` job to the engine's job table
(the CLI imports it, so every ``crossdock worker`` runs it).
"""

from __future__ import annotations

from typing import Any

from crossdock.sync_engine.jobs import JobSpec, Schedule, register

__all__ = ["ALERTS", "alerts_job"]

ALERTS = "alerts"


def alerts_job(ctx: Any, entry: Any = None) -> dict[str, Any]:
    from crossdock.alerts.rounds import alerts_round

    return alerts_round(ctx.cfg, ctx.db)


register(JobSpec(ALERTS, alerts_job, round=True,
                 schedule=Schedule(per_channel=False, name="alerts", interval_key="alerts_s", every_s=300)))
