"""Wake-ups sent as soon as the transaction that added the work commits.

The relay (:func:`crossdock.sync_engine.outbox.relay`) looks for due entries
every scheduler tick (``[sync] tick_s``) and stays what never loses one. An
entry due at once need not wait for that look, though: in a process that
runs the engine (:class:`~crossdock.sync_engine.runtime.EngineRuntime`
installs a sender with :func:`install`), :func:`crossdock.sync_engine.outbox.enqueue`
notes each new entry due now on its session, and once the transaction has
committed — never before, or a worker could look for an entry not there yet —
its wake-up goes to the broker as the relay would send it. An event's read
(the receiver's transaction) and the stock push its stored order causes (the
read's transaction) each start without waiting for a tick.

A transaction rolled back sends nothing. A process without a sender (the
CLI; ``crossdock serve`` without a worker) leaves its entries to the relay,
and so does a send that fails (logged): a wake-up is only a hint.

Work due later (a push window's end, a retry, a wait for quota) is the
relay's, which looks when the engine's loop wakes. The loop sleeps until the
earliest work it knows of; :func:`note_later` tells it, once the
transaction commits, of work this process has just made due sooner than that.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

__all__ = ["Later", "Sender", "Woken", "install", "installed", "note", "note_later", "uninstall"]

#: (entry id, kind, due time as the database returned it) → send its wake-up.
Sender = Callable[[int, str, dt.datetime], None]
#: due time of work committed for later → the relay should look by then.
Later = Callable[[dt.datetime], None]

_KEY = "crossdock.wakeups"
_LATER_KEY = "crossdock.wakeups.later"


@dataclass(frozen=True, slots=True)
class Woken:
    """What a wake-up names (``actors.wake`` routes it by ``kind``)."""

    id: int
    kind: str

_sender: Sender | None = None
_later: Later | None = None


def install(sender: Sender, later: Later | None = None) -> None:
    """Send wake-ups of entries due at once with ``sender`` after their commit
    (this process); tell ``later`` when committed work falls due later."""
    global _sender, _later
    _sender, _later = sender, later


def uninstall(sender: Sender | None = None) -> None:
    """Stop sending (only if ``sender`` is the one installed, when given)."""
    global _sender, _later
    if sender is None or _sender == sender:      # == : a bound method is a new object each time
        _sender, _later = None, None


def installed() -> bool:
    return _sender is not None


def note(session: Session, entry_id: int, kind: str, due: dt.datetime) -> None:
    """Wake entry ``entry_id`` when ``session``'s transaction commits (no sender: nothing)."""
    if _sender is not None:
        session.info.setdefault(_KEY, []).append((entry_id, kind, due))


def note_later(session: Session, due: dt.datetime) -> None:
    """Work falls due at ``due``: tell the installed loop when ``session``'s transaction commits."""
    if _later is not None:
        session.info.setdefault(_LATER_KEY, []).append(due)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    later_dues = session.info.pop(_LATER_KEY, None)
    later = _later
    if later_dues and later is not None:
        try:
            later(min(later_dues))
        except Exception as exc:  # noqa: BLE001 - the loop looks again within its longest sleep
            log.debug("work due later not told to the loop (%s)", exc)
    pending = session.info.pop(_KEY, None)
    sender = _sender
    if not pending or sender is None:
        return
    for entry_id, kind, due in pending:
        try:
            sender(entry_id, kind, due)
        except Exception as exc:  # noqa: BLE001 - the relay sends it on its next tick
            log.debug("wake-up of outbox entry %s not sent now (%s); the relay sends it", entry_id, exc)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_LATER_KEY, None)
