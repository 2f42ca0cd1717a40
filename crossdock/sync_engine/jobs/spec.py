"""One row of the job table (:data:`crossdock.sync_engine.jobs.JOBS`): what a
job kind is, how it runs, and when the engine schedules it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crossdock.config import Config
from crossdock.ratelimit.budget import Priority
from crossdock.sync_engine import outbox
from crossdock.sync_engine.jobs.context import EngineContext

__all__ = ["JobRun", "JobSpec", "Schedule"]

#: A job: the engine's context and one claimed outbox entry → what it did (a JSON-able document).
JobRun = Callable[[EngineContext, outbox.ClaimedEntry], Mapping[str, Any]]
#: The channels that share one channel's run (the order import of Amazon marketplaces of one seller).
ShareFn = Callable[[Config, str], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the scheduler fires a job.

    ``per_channel``: one schedule per configured channel, named ``KIND:CHANNEL``,
    its interval read from ``[channels.NAME.intervals_s]`` key ``interval_key``;
    otherwise one schedule for all, named ``name``, its interval read from
    ``[sync]`` key ``interval_key``. ``every_s`` is the default interval (the
    config declares the same). ``enabled_key``: the ``[sync]`` switch that turns
    it on or off (default ``enabled_default``). ``first_after_interval``: a new
    schedule's first run waits one interval. ``shared_by``: channels sharing
    one run; only the first of them has an enabled schedule, as often as the
    most frequent of them asks. ``interval_of``: reads the interval from another
    section (``[backup] every``) and says whether the schedule is on at all
    (None: off); ``interval_key`` then only names it. ``for_channel``: a per-channel
    schedule is off for a channel it answers False for (a platform without the ability)."""

    per_channel: bool
    interval_key: str
    every_s: int
    name: str | None = None
    enabled_key: str | None = None
    enabled_default: bool = True
    first_after_interval: bool = False
    shared_by: ShareFn | None = None
    interval_of: Callable[[Config], int | None] | None = None
    #: Per channel: whether the channel can run it at all (its platform's abilities); None: every channel.
    for_channel: Callable[[Config, str], bool] | None = None

    def __post_init__(self) -> None:
        if not self.per_channel and not self.name:
            raise ValueError("a schedule for all channels needs a name")

    def enabled(self, sync: Mapping[str, Any]) -> bool:
        return True if self.enabled_key is None else bool(sync.get(self.enabled_key, self.enabled_default))

    @property
    def config_key(self) -> str:
        """Where its interval is configured (``channels.NAME.intervals_s.KEY`` or ``sync.KEY``)."""
        if self.per_channel:
            return f"channels.NAME.intervals_s.{self.interval_key}"
        return self.interval_key if self.interval_of is not None else f"sync.{self.interval_key}"

    def to_dict(self) -> dict[str, Any]:
        return {"per_channel": self.per_channel, "name": self.name or "KIND:CHANNEL", "interval": self.config_key,
                "default_s": self.every_s, "enabled_by": (f"sync.{self.enabled_key}" if self.enabled_key else
                               self.interval_key.split(".")[0] if self.interval_of is not None else None),
                "enabled_default": self.enabled_default, "first_after_interval": self.first_after_interval,
                "shared": self.shared_by is not None}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job kind (the outbox's ``kind``) and everything the engine, the
    scheduler, the configuration and the CLI need to know about it.

    - ``run``: the job (context + claimed entry).
    - ``priority``: the quota priority of its calls.
    - ``schedule``: when the scheduler fires it (None: enqueued by something
      else — a stock change, a shipment).
    - ``round``: one of the engine's own rounds, not work someone waits for
      (``Engine.idle`` ignores it).
    - ``hand_run``: its name for ``crossdock sync run --job`` (None: not run by hand).
    - ``continues``: a result with ``more`` and a ``cursor`` enqueues the next run at once.
    - ``fast_lane``: its wake-ups go to the fast lane (``actors.FAST_QUEUE``, threads of its own):
      work someone waits for in seconds (an event's read), never queued behind the routine jobs.
    """

    kind: str
    run: JobRun
    priority: Priority = Priority.NORMAL
    schedule: Schedule | None = None
    round: bool = False
    hand_run: str | None = None
    continues: bool = False
    fast_lane: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "priority": self.priority.name.lower(), "hand_run": self.hand_run,
                "round": self.round, "schedule": self.schedule.to_dict() if self.schedule else None}
