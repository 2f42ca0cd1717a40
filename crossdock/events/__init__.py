"""Events in (issue 17): platform events make crossdock read an order at
once instead of at the next poll; polling stays the safety net.

Receivers check a delivery (signature, channel) and call :func:`accept`
(or :func:`refuse`); see :mod:`crossdock.events.intake` for how to call it.
Importing this package adds the ``events.read`` and ``events.erase`` jobs to
the engine's job table (the CLI imports it, so every ``crossdock worker``
runs them).
"""

from __future__ import annotations

from crossdock.events import reads       # importing it registers the jobs
from crossdock.events.intake import ACCEPTED, DUPLICATE, ERASE, READ, REFUSED, Intake, accept, refuse

__all__ = ["ACCEPTED", "DUPLICATE", "ERASE", "READ", "REFUSED", "Intake", "accept", "reads", "refuse"]
