"""benchmarks/event_latency.py wraps the job runner to time every run; the wrapper
must take whatever the runner is called with. When ``runner.process`` gained a
keyword (``pause``, read in the claim's transaction), the old two-argument
wrapper failed every job and the benchmark printed "orders 0/200" (that
change was reverted; the wrapper stays general)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import SimpleNamespace

from crossdock.sync_engine.jobs import runner

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "event_latency.py"


def _bench():
    spec = importlib.util.spec_from_file_location("event_latency_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_trace_wrapper_passes_on_every_argument_the_runner_takes():
    trace = _bench().JobTrace()
    seen = []

    def process(ctx, entry, *, pause=None):
        seen.append(pause)
        return "done"
    wrapped = trace.wrap_process(process)
    entry = SimpleNamespace(id=1, kind="orders", channel="c", available_at=dt.datetime.now(dt.timezone.utc))
    assert wrapped(None, entry, pause="read in the claim") == "done"
    assert seen == ["read in the claim"] and [r["id"] for r in trace.runs] == [1]
    # and the runner itself goes through it unchanged
    assert trace.wrap_process(runner.process).__name__ == "process"
