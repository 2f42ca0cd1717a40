"""``crossdock doctor``: the support checklist as small check functions.

Each check (:mod:`.system`, :mod:`.channels`, :mod:`.online`,
:mod:`.warehouse`) returns :class:`Result` lines: ok / warn /
fail, the XD code, what it found and the command that fixes it. The worker's
alerts (:mod:`crossdock.alerts`) are raised from the same results.
"""

from __future__ import annotations

from crossdock.doctor.model import FAIL, OK, WARN, DoctorContext, Result, exit_status
from crossdock.doctor.run import DoctorReport, evaluate, run_doctor

__all__ = ["FAIL", "OK", "WARN", "DoctorContext", "DoctorReport", "Result", "evaluate", "exit_status",
           "run_doctor"]
