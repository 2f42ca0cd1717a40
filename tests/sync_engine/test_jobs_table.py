"""The job table (crossdock.sync_engine.jobs.JOBS): one row per job kind, read
by the runner, the engine's schedules, hand runs and the CLI; and the
configuration's intervals reaching the schedules table through it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crossdock import config
from crossdock.config_keys import SCHEMA
from crossdock.config_schema import flatten
from crossdock.db.models import OutboxEntry, Schedule
from crossdock.errors import SyncError
from crossdock.sync_engine import hand_run, outbox
from crossdock.sync_engine.engine import SCHEDULED_JOBS, Engine, context_from_config, rounds, schedule_specs
from crossdock.sync_engine.jobs import JOBS, JobSpec, claim_and_process, run_entry

AMAZON = """
[channels.amazon-{country}]
platform = "amazon"
account = "SELLER1"
marketplace = "{marketplace}"
currency = "EUR"
client_id = "amzn1.application-oa2-client.abc"
client_secret = {{env = "AMZ_SECRET"}}
refresh_token = {{env = "AMZ_REFRESH"}}
[channels.amazon-{country}.intervals_s]
"""
# two marketplaces of one seller (one shared order poll), each with its own intervals
CONFIG = ("""
[database]
url = "sqlite:///crossdock.sqlite"

[sync]
stock_sweep_s = 12
auto_publish = true
reconcile = false
""" + AMAZON.format(country="de", marketplace="A1PA6795UKMFR9") + "orders = 300\nprices = 77\nlistings = 1234\n"
          "reconcile = 4321\n" + AMAZON.format(country="fr", marketplace="A13V1IB3VIYZZH") + "orders = 90\n")


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "crossdock.toml"
    path.write_text(CONFIG)
    return config.load(path, env={})


def test_per_channel_intervals_from_the_config_file_reach_the_schedules_table(cfg):
    # Given a configuration file with per-channel intervals and [sync] switches
    ctx = context_from_config(cfg)
    try:
        # When the engine writes its schedules
        Engine(ctx).ensure_schedules()
        with ctx.db.read() as s:
            rows = {r.name: r for r in s.scalars(select(Schedule))}
    finally:
        ctx.db.dispose()
    # Then each channel's own intervals are the ones scheduled
    assert rows["prices:amazon-de"].interval_s == 77
    assert rows["prices:amazon-fr"].interval_s == 900                 # the declared default
    assert (rows["listings:amazon-de"].interval_s, rows["listings:amazon-de"].enabled) == (1234, True)
    assert (rows["reconcile:amazon-de"].interval_s, rows["reconcile:amazon-de"].enabled) == (4321, False)
    # the two marketplaces of one seller share one order poll: the leader's, as often as the most frequent asks
    assert (rows["orders:amazon-de"].interval_s, rows["orders:amazon-de"].enabled) == (90, True)
    assert rows["orders:amazon-fr"].enabled is False
    # and the jobs for all channels run on their [sync] keys
    assert rows["stock-sweep"].interval_s == 12 and rows["stock-sweep"].channel is None
    assert rows["auto-ship"].enabled is False
    assert set(rows) == {s.name for s in schedule_specs(cfg)}


def test_every_schedule_reads_a_declared_config_key_with_the_same_default():
    declared = {row["key"]: row["default"] for row in flatten(SCHEMA)}
    for kind, spec in JOBS.items():
        sched = spec.schedule
        if sched is None:
            continue
        if sched.interval_of is not None:
            # read from its own section ([backup] every = "daily"): the same default, as a duration
            from crossdock.keep_policy import parse_duration_s

            assert sched.config_key == sched.interval_key
            assert parse_duration_s(declared[sched.interval_key]) == sched.every_s, kind
            continue
        key = f"channels.NAME.intervals_s.{sched.interval_key}" if sched.per_channel else f"sync.{sched.interval_key}"
        assert sched.config_key == key
        assert declared[key] == sched.every_s, kind
        if sched.enabled_key is not None:
            assert declared[f"sync.{sched.enabled_key}"] is sched.enabled_default, kind
    # and a per-channel interval the config offers is one a job reads, but for the three the
    # reference marks reserved (those jobs run for all channels on their [sync] interval)
    offered = {k.rsplit(".", 1)[1] for k in declared if k.startswith("channels.NAME.intervals_s.")}
    read = {s.schedule.interval_key for s in JOBS.values() if s.schedule is not None and s.schedule.per_channel}
    assert offered - read == {"stock", "shipments", "tracking"} and read <= offered


def test_the_engine_hand_runs_and_the_command_read_the_table():
    from crossdock.cli.sync import RUN_JOBS

    assert SCHEDULED_JOBS == ("orders", "prices", "listings", "reconcile", "platform_stock", "returns")
    assert set(rounds()) == {k for k, s in JOBS.items() if s.schedule is not None}
    assert hand_run.JOB_KINDS == {"orders": "orders", "stock": "push_stock", "prices": "prices",
                                  "listings": "listings", "shipments": "confirm_shipment", "reconcile": "reconcile"}
    assert set(hand_run._JOBS) == set(hand_run.JOB_KINDS)       # every hand-run name has its runner
    assert RUN_JOBS == hand_run.RUN_JOBS
    assert all(isinstance(spec, JobSpec) and spec.kind == kind for kind, spec in JOBS.items())


def test_an_unknown_job_kind_is_an_error_with_a_code_never_a_skip(cfg):
    # Given an outbox entry of a kind no job has
    ctx = context_from_config(cfg)
    try:
        with ctx.db.write() as s:
            outbox.enqueue(s, "no_such_job", channel="amazon-de", idempotency_key="unknown-kind")
        entry = outbox.claim(ctx.db, worker_id=ctx.worker_id, limit=1)[0]
        # When it is run, Then it fails with XD-SYNC-001 naming the kind
        with pytest.raises(SyncError) as exc:
            run_entry(ctx, entry)
        assert exc.value.code == "XD-SYNC-001" and "no_such_job" in exc.value.detail
        # and the engine settles it as failed, visible in `crossdock jobs failed`, not done
        with ctx.db.write() as s:
            outbox.enqueue(s, "no_such_job", channel="amazon-de", idempotency_key="unknown-kind-2")
        assert claim_and_process(ctx, kinds=["no_such_job"], limit=5) == ["failed"]
        with ctx.db.read() as s:
            codes = s.execute(select(OutboxEntry.status, OutboxEntry.last_code)
                              .where(OutboxEntry.idempotency_key == "unknown-kind-2")).one()
        assert tuple(codes) == ("failed", "XD-SYNC-001")
    finally:
        ctx.db.dispose()



def test_the_cli_prints_the_table_and_checks_kinds_against_it(tmp_path):
    from tests.cli_run import crossdock

    from crossdock.sync_engine.jobs import table_doc

    # `crossdock jobs kinds --json` is the table's document, needing no configuration
    ran = crossdock("jobs", "kinds", "--json", cwd=tmp_path)
    assert ran.returncode == 0 and ran.doc == table_doc()
    orders = ran.doc["jobs"][0]
    assert (orders["kind"], orders["priority"], orders["hand_run"]) == ("orders", "critical", "orders")
    assert orders["schedule"]["interval"] == "channels.NAME.intervals_s.orders"
    # a --kind filter naming no job is a usage error, before any database is opened
    ran = crossdock("jobs", "failed", "--kind", "push_stok", cwd=tmp_path)
    assert ran.returncode == 2 and "XD-CFG-009" in ran.stderr and "push_stock" in ran.stderr
