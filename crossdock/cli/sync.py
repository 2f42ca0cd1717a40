"""``crossdock sync run|reconcile|status|metrics``.

The commands read their options, call the engine (:mod:`crossdock.sync_engine.hand_run`,
:func:`crossdock.sync_engine.jobs.reconcile`, :mod:`crossdock.sync_engine.status`)
and print the document it returns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crossdock.cli.application import JSON_OPT, Application, parse_since
from crossdock.errors import ConfigError
from crossdock.output import EXIT_PARTIAL
from crossdock.textsafe import markup_escape as escape
from crossdock.textsafe import printable

group = typer.Typer(help="The sync engine: run jobs, reconcile channels, see where each channel stands.",
                    no_args_is_help=True)



def __getattr__(name: str) -> Any:
    """``RUN_JOBS``: the jobs ``sync run`` offers — the job table's rows with a
    hand-run name (:data:`crossdock.sync_engine.hand_run.RUN_JOBS`), read when
    asked for: the CLI starts without the engine."""
    if name == "RUN_JOBS":
        from crossdock.sync_engine.hand_run import RUN_JOBS

        return RUN_JOBS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_OUTCOME_STYLE = {"ok": "green", "partial": "yellow", "skipped": "dim", "paused": "bold red", "failed": "bold red"}


@group.command("status")
def status(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Where each channel stands: order import lag, stock queue, outbox, failures, stuck orders."""
    from crossdock.sync_engine.status import sync_status_doc

    app = Application.of(ctx, json=as_json)
    doc = sync_status_doc(app.config, app.db, dt.datetime.now(dt.timezone.utc))
    if as_json:
        app.emit(doc)
    else:
        _print_status(app, doc)


@group.command("metrics")
def metrics(ctx: typer.Context,
            textfile: Optional[Path] = typer.Option(
                None, "--textfile", metavar="PATH",
                help="Write to this .prom file (atomically, for node-exporter's textfile collector) "
                     "instead of printing.")) -> None:
    """The Prometheus metrics of the engine's state, read from the database
    now (import lag, outbox backlog, failed jobs, credential expiry, quota
    and 429s, drift, stuck orders, oversold units): the same text the web
    console serves on /metrics, for a scraper without the console."""
    from crossdock.metrics.exposition import exposition, write_textfile

    app = Application.of(ctx)
    if textfile is not None:
        write_textfile(app.config, app.db, textfile)
        return
    body, _ = exposition(app.config, app.db)
    sys.stdout.write(body.decode("utf-8"))
    sys.stdout.flush()


@group.command("reconcile")
def reconcile(ctx: typer.Context, channel: str = typer.Argument(...),
              apply: bool = typer.Option(False, "--apply", help="Push the expected quantities and prices."),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Read back listed quantities and prices; report drift (SKU, expected, listed); repair with --apply."""
    from crossdock.sync_engine.jobs import reconcile as reconcile_channel

    app = Application.of(ctx, json=as_json)
    app.config.channel(channel)
    with app.engine() as engine:
        result = reconcile_channel(engine, channel, apply=apply)
    if as_json:
        app.emit(result)
    else:
        _print_reconcile(app.out, channel, result)
    if (result["drift"] or result["price_drift"]) and not apply:
        raise typer.Exit(EXIT_PARTIAL)


def _print_reconcile(out: Console, channel: str, result: Mapping[str, Any]) -> None:
    def say(text: str) -> None:     # SKUs and messages are the platform's: control characters escaped
        out.print(printable(text), markup=False, highlight=False)

    say(f"{channel}: {result['checked']} SKUs checked, {len(result['drift'])} drifted, {result['repaired']} repaired")
    for d in result["drift"][:200]:
        say(f"  {d['sku']}: expected {d['expected']}, listed {d['listed']}")
    say(f"{channel}: {result['prices_checked']} prices checked, {len(result['price_drift'])} drifted, "
        f"{result['prices_repaired']} repaired")
    for d in result["price_drift"][:200]:
        listed = f"{d['listed']} {d['listed_currency']}" if d["listed"] is not None else "no price"
        say(f"  {d['sku']}: price expected {d['expected']} {d['currency']}, listed {listed}")
    for p in result["price_problems"][:200]:
        why = p["message"] if p["message"].startswith("[XD-") else f"[{p['code']}] {p['message']}"
        say(f"  {p['sku']}: price not computable: {why}")


@group.command("run")
def run(ctx: typer.Context,
        channel: Optional[str] = typer.Option(None, "--channel"),
        job: str = typer.Option("orders", "--job", help="The job: its \"sync run\" name in `crossdock jobs kinds`."),
        since: Optional[str] = typer.Option(
            None, "--since", help="orders only: read again from this time (2h, 30m, 1d or ISO, platform "
                                  "time) up to now; the cursor is not moved."),
        skus: Optional[list[str]] = typer.Option(None, "--sku", metavar="SKU",
                                                 help="prices, listings: only this SKU (repeatable)."),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Run one job now for one channel (or every channel), in this process,
    the way the engine runs it.

    ``--job orders`` imports window after window from each channel's
    cursor until it is caught up (now - safety lag), with a progress bar on
    a terminal; a channel read by an earlier channel's import in the same
    run (Amazon marketplaces of one seller share one call) is not read
    again. With ``--since T`` it reads [T, now - safety lag] once instead
    and leaves the cursor where it is. ``prices`` pushes changed prices,
    ``listings`` publishes missing ones.

    A channel that fails is logged with its code (``crossdock logs``), an
    authorisation failure pauses that channel only, a paused channel is
    skipped, and the run goes on with the others. Exit 0 when every channel
    is ok, 4 when some failed or were partly done (each named on stderr), and
    the worst failure's exit status when every channel failed."""
    from crossdock.sync_engine.hand_run import RUN_JOBS, run_job

    app = Application.of(ctx, json=as_json)
    if job not in RUN_JOBS:
        raise ConfigError("XD-CFG-009", detail=f"--job {job!r}: {', '.join(RUN_JOBS)}")
    if since and job != "orders":
        raise ConfigError("XD-CFG-009", detail=f"--since {since!r} applies to --job orders, not {job!r}")
    if skus and job not in ("prices", "listings"):
        raise ConfigError("XD-CFG-009", detail=f"--sku applies to --job prices or listings, not {job!r}")
    cfg = app.config
    names = [cfg.channel(channel).name] if channel else sorted(cfg.channels)
    with app.engine() as engine:
        # --since is platform time: a sandbox's clock runs faster than the wall
        start = parse_since(since, now=engine.clock.now()) if since else None
        with _progress(app.err, enabled=not as_json and app.progress) as on_progress:
            report = run_job(engine, job, names, since=start, skus=skus, on_progress=on_progress)
    if as_json:
        app.emit(report.to_dict())
    else:
        app.out.print(run_table(report))
    _name_failures(report, app.err)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@contextlib.contextmanager
def _progress(err: Console, *, enabled: bool) -> Iterator:
    """``on_progress(channel, fraction, text)`` drawing a bar per channel on
    stderr (rich.progress, cleared at the end), or doing nothing."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        def on_progress(channel: str, fraction: float, text: str) -> None:
            if channel not in tasks:
                tasks[channel] = bar.add_task(text, total=1.0)
            bar.update(tasks[channel], completed=fraction, description=text)

        yield on_progress


def _plain(value: Any) -> Text:
    """Platform and catalogue text as it is: no markup, control characters shown escaped."""
    return Text(printable(value))


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _counts(job: str, r: dict) -> str:
    """What the job did on one channel, in words."""
    if job == "orders":
        text = f"{_n(r.get('windows', 0), 'window')}, {r.get('read', 0)} read, {r.get('new', 0)} new, " \
               f"{r.get('updated', 0)} updated" + (f", {r['quarantined']} quarantined" if r.get("quarantined") else "")
        group = r.get("channels") or ()
        return text + (f" (one call for {', '.join(group)})" if len(group) > 1 else "")
    if job == "stock":
        if "pushed" not in r:
            return f"{_n(r.get('skus', 0), 'SKU')} to push"
        return f"{r['pushed']} of {_n(r['skus'], 'SKU')} pushed, {r['dropped']} dropped, {_n(r['calls'], 'call')}"
    if job == "prices":
        return f"{r['pushed']} pushed of {r['changed']} changed, {r['checked']} checked, {_n(r['calls'], 'call')}, " \
               f"{len(r['rejected'])} refused, {len(r['problems'])} not computable"
    if job == "listings":
        return f"{len(r['published'])} published of {r['candidates']}, {len(r['rejected'])} rejected" \
               + (", more to publish" if r.get("more") else "")
    if job == "reconcile":
        return f"{_n(r['checked'], 'SKU')} checked, {len(r['drift'])} drifted; {_n(r['prices_checked'], 'price')} " \
               f"checked, {len(r['price_drift'])} drifted, {len(r['price_problems'])} not computable"
    if job == "shipments":
        return f"{r.get('confirmed', 0)} of {_n(r.get('queued', 0), 'confirmation')} sent"
    return ""


def _where(job: str, r: dict) -> str:
    """The cursor (orders) or the window read again (--since)."""
    if job != "orders":
        return ""
    if "since" in r:
        return f"{r['since'][:16]} .. {r['until'][:16]} (cursor unchanged)"
    if r.get("cursor"):
        return f"{r['cursor'][:16]} " + ("caught up" if r.get("caught_up") else "behind")
    return "caught up" if r.get("caught_up") else ""


def run_table(report) -> Table:
    """``crossdock sync run``'s result as a table: a row per channel."""
    title = f"sync run --job {report.job}" + (f" --since {report.since.isoformat()[:16]}" if report.since else "")
    table = Table(title=title, title_justify="left")
    for col in ("channel", "outcome", "done", "cursor / window" if report.job == "orders" else "", "code",
                "message"):
        if col:
            table.add_column(col, overflow="fold")
    for name, row in report.channels.items():
        r = row.result
        done = _counts(report.job, r) if row.result and not (row.failure and not r.get("windows", 1)) else ""
        code = row.failure.code if row.failure is not None else ""
        message = row.failure.error.message if row.failure is not None else (row.note or "")
        if row.failure is not None and row.note:
            message = f"{row.note}; {message}"
        cells = [_plain(name), Text(row.outcome, style=_OUTCOME_STYLE.get(row.outcome, "")), _plain(done)]
        if report.job == "orders":
            cells.append(_plain(_where(report.job, r)))
        table.add_row(*cells, _plain(code), _plain(message))
    return table


def _name_failures(report, console: Console) -> None:
    """On stderr: each failed channel with its code, and what to do."""
    failed = report.failed
    partial = [r for r in report.channels.values() if r.outcome == "partial"]
    if not failed and not partial:
        return
    ran = sum(1 for r in report.channels.values() if r.outcome != "skipped")
    console.print(Text(f"sync run --job {report.job}: {len(failed)} of {ran} channel(s) failed, "
                       f"{len(partial)} partly done (exit {report.exit_code})"))
    for row in failed + partial:
        if row.failure is None:
            console.print(_plain(f"  {row.channel}: {row.outcome}: {row.note or ''}"))
            continue
        spec = row.failure.error.spec
        what = "channel paused" if row.outcome == "paused" else row.outcome
        console.print(_plain(f"  {row.channel}: {row.failure.code} {spec.title} ({what})"))
        console.print(_plain(f"    Remedy: {spec.remedy}"))
        if spec.command:
            console.print(_plain(f"    Try: {spec.command}"))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172_800:
        return f"{s // 3600}h"
    return f"{s // 86_400}d"


def _print_status(app: Application, doc: dict[str, Any]) -> None:
    out, err = app.out, app.err
    table = Table(title="sync status")
    for col in ("channel", "state", "imported", "lag", "stock queue", "outbox p/f", "fails 24h", "stuck",
                "quarantined"):
        table.add_column(col, overflow="fold", no_wrap=col in ("channel", "lag", "outbox p/f"))
    for c in doc["channels"].values():
        state = (f"[red]paused {c['paused_code']}[/]" if c["paused"] else
                 "running" if c["state"] == "running" else "[yellow]stopped[/]")
        queue = c["stock_queue"]
        stock = f"{queue['dirty_skus']} SKUs, oldest {_age(queue['oldest_age_s'])}" if queue["dirty_skus"] else "-"
        pending = sum(k["pending"] for k in c["outbox"].values())
        failed = sum(k["failed"] for k in c["outbox"].values())
        fails = ", ".join(f"{code} ×{n}" for code, n in sorted(c["failures_24h"].items())) or "-"
        stuck = ", ".join(f"{code} ×{n}" for code, n in [*c["stuck_orders"].items(), *c["flagged_orders"].items()]
                          if n) or "-"
        held = f"XD-ORD-008 ×{c['quarantined_orders']}" if c["quarantined_orders"] else "-"
        table.add_row(escape(c["channel"]), state, (c["orders"]["last_success_at"] or "never")[:16].replace("T", " "),
                      _age(c["orders"]["lag_s"]), stock, f"{pending}/{failed}", fails, stuck, held)
    out.print(table)
    alive = [w for w in doc["workers"] if w["alive"]]
    sched = doc["scheduler"]
    if alive:
        out.print(f"workers: {len(alive)} alive ({', '.join(w['id'] for w in alive)}); last scheduler tick "
                  f"{_age(sched['last_tick_age_s'])} ago", markup=False, highlight=False)
    else:
        err.print("[XD-SYNC-008] no worker running: schedules do not fire and jobs wait. Start one: "
                  "crossdock worker", markup=False, highlight=False)
    t = doc["totals"]
    if t["outbox_failed"]:
        err.print(f"{t['outbox_failed']} failed job(s): crossdock jobs failed", markup=False, highlight=False)
    for name in t["paused_channels"]:
        err.print(f"{name} is paused: crossdock auth status", markup=False, highlight=False)
    if doc["quarantined_orders"]:
        err.print(f"{doc['quarantined_orders']} quarantined order(s) (XD-ORD-008): crossdock orders quarantine",
                  markup=False, highlight=False)
    if t["oversold_units"]:
        err.print(f"{t['oversold_units']} unit(s) sold that no stock stands behind (XD-INV-001, XD-INV-012): "
                  "crossdock logs --code XD-INV", markup=False, highlight=False)
    drifted = sorted(n for n, c in doc["channels"].items()
                     if c["drift"] and (c["drift"]["quantities"] or c["drift"]["prices"]))
    for name in drifted:
        d = doc["channels"][name]["drift"]
        err.print(f"{name}: the last reconcile found {d['quantities']} quantity and {d['prices']} price drift(s): "
                  f"crossdock sync reconcile {name} --apply", markup=False, highlight=False)
    if any(doc["flagged_orders"].values()):
        err.print("orders with lines no stock was reserved for (XD-INV-004, XD-ORD-004): crossdock warehouse flagged",
                  markup=False, highlight=False)
