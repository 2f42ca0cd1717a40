"""CPU of one alerts round's checks (the doctor's evaluation) on a demo's database.

    .venv/bin/python benchmarks/doctor_cpu.py [--folder DIR] [--rounds 20] [--round]

Runs the default demo once (``crossdock demo --folder DIR``; skipped when
``DIR/crossdock.toml`` exists already, so a folder can be reused), then, in
this process, times ``--rounds`` evaluations of the checks the worker's
alerts round runs (:func:`crossdock.alerts.rounds.evaluate_checks`) with
``time.process_time`` and prints the CPU milliseconds per round (mean and
median, best). ``--round`` times the whole :func:`alerts_round` instead (it also
records the alerts in the database). The first round is a warm-up and is
not counted. ``--digest`` prints a digest of the findings, ``--dump FILE``
writes them, ``--now ISO`` pins the time they are evaluated at (to compare
the findings before and after a change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _demo(folder: Path) -> Path:
    cfg_path = folder / "crossdock.toml"
    if not cfg_path.exists():
        exe = Path(sys.executable).with_name("crossdock")
        subprocess.run([str(exe), "demo", "--folder", str(folder), "--json"], check=True,
                       stdout=subprocess.DEVNULL)
    return cfg_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, default=Path("/tmp/doctor-cpu-demo"))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--round", action="store_true", help="time alerts_round, not only the checks")
    ap.add_argument("--digest", action="store_true", help="print a digest of the findings")
    ap.add_argument("--dump", type=Path, help="write the findings (JSON) to this file")
    ap.add_argument("--now", help="evaluate at this ISO time (default: now), to compare findings across runs")
    args = ap.parse_args()
    cfg_path = _demo(args.folder.resolve())
    os.chdir(cfg_path.parent)

    from crossdock import config as config_mod
    from crossdock.alerts.rounds import alerts_round, evaluate_checks
    from crossdock.db.engine import Database

    cfg, _ = config_mod.read(cfg_path)
    db = Database(cfg.database_url)
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.timezone.utc)
    results = evaluate_checks(cfg, db, now)       # warm-up (imports, statement caches)
    text = json.dumps([r.to_dict() for r in results], sort_keys=True, default=str, indent=1)
    if args.dump:
        args.dump.write_text(text)
    if args.digest:
        print(f"findings: {len(results)} digest {hashlib.sha256(text.encode()).hexdigest()[:16]}")
        for r in results:
            if r.status != "ok":
                print(f"  {r.status} {r.code} {r.channel} {r.check}: {r.found[:100]}")
    times = []
    for _ in range(args.rounds):
        t0 = time.process_time()
        if args.round:
            alerts_round(cfg, db, now=now)
        else:
            evaluate_checks(cfg, db, now)
        times.append(time.process_time() - t0)
    db.dispose()
    what = "alerts_round" if args.round else "evaluate_checks"
    print(f"{what}: {args.rounds} rounds, {len(cfg.channels)} channels: "
          f"{1000 * sum(times) / len(times):.1f} ms CPU per round (median {1000 * statistics.median(times):.1f}, "
          f"best {1000 * min(times):.1f} ms)")


if __name__ == "__main__":
    main()
