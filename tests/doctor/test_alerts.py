"""Alerts (issue 15 §2): raised from doctor's checks, delivered for real to
a local SMTP server and a local webhook; one message per condition, a
reminder after the interval, a resolved message; a target that is down is
retried and the alert kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from crossdock.alerts.rounds import alerts_round
from crossdock.alerts.table import Alert
from crossdock.db.models import Credential, OutboxEntry, Schedule, SyncEvent
from crossdock.sync_engine.auth_refresh import refresh_channel_token
from crossdock.sync_engine.engine import schedule_specs
from crossdock.sync_engine.jobs import JOBS
from tests.cli_run import crossdock
from tests.doctor.receivers import free_port, smtp_server, webhook
from tests.doctor.support import UTC, worker_alive
from tests.sync_engine.catalog_env import catalog_env


def _targets(smtp_port: int, hook_port: int, down_port: int) -> str:
    return f"""
[alerts]
reminder_h = 24

[alerts.targets.mail]
url = "mailto://127.0.0.1:{smtp_port}?from=crossdock@example.com&to=ops@example.com&mode=insecure"
codes = ["XD-AUTH"]

[alerts.targets.hook]
url = "json://127.0.0.1:{hook_port}/alerts"
areas = ["AUTH"]

[alerts.targets.down]
url = "json://127.0.0.1:{down_port}/alerts"
codes = ["XD-AUTH-005"]
min_severity = "warn"
"""


def _secret_expires_in(env, days: float, now: dt.datetime) -> None:
    with env.db.write() as s:
        s.execute(update(Credential).where(Credential.channel == "amazon-de").values(
            client_secret_expires_at=now + dt.timedelta(days=days)))


def _auth_alerts(env) -> list[Alert]:
    with env.db.read() as s:
        return list(s.scalars(select(Alert).where(Alert.code.like("XD-AUTH%")).order_by(Alert.id)))


def test_a_client_secret_near_expiry_is_alerted_once_reminded_and_resolved(sqlite_db, tmp_path, monkeypatch):
    down_port = free_port()
    with smtp_server() as (smtp_port, mails), webhook() as (hook_port, hooks), \
            catalog_env(tmp_path, monkeypatch, sqlite_db,
                        extra_config=_targets(smtp_port, hook_port, down_port)) as env:
        assert "alerts" in JOBS and "alerts" in {s.name for s in schedule_specs(env.cfg)}
        refresh_channel_token(env.cfg, env.db, "amazon-de")
        worker_alive(env)
        t0 = dt.datetime.now(UTC)
        # Given Amazon's client secret expires in 10 days
        _secret_expires_in(env, 10, t0)

        # When the worker's alerts round runs
        alerts_round(env.cfg, env.db, now=t0)
        # Then exactly one alert, one e-mail and one webhook message, and the sync log has it
        [alert] = _auth_alerts(env)
        assert (alert.code, alert.channel, alert.subject, alert.severity) == (
            "XD-AUTH-005", "amazon-de", "client_secret within 30 days", "warn")
        assert len(mails) == 1 and len(hooks) == 1
        assert "XD-AUTH-005 amazon-de" in mails[0]["Subject"] and "client secret expires" in hooks[0]["message"]
        with env.db.read() as s:
            logged = s.scalars(select(SyncEvent).where(SyncEvent.operation == "alert.open",
                                                       SyncEvent.code == "XD-AUTH-005")).all()
        assert [e.channel for e in logged] == ["amazon-de"]
        # the target that is down keeps the message pending
        assert (alert.pending, alert.pending_targets) == ("open", ["down"]) and alert.last_error

        # When the round runs again an hour later: nothing new is sent; the down target is tried again
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=1))
        [alert] = _auth_alerts(env)
        assert len(mails) == 1 and len(hooks) == 1
        assert alert.delivery_attempts == 2 and alert.pending_targets == ["down"]

        # When the down target comes back, the next round delivers to it (and to nobody else again)
        with webhook(down_port) as (_, late):
            alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=2))
        [alert] = _auth_alerts(env)
        assert len(late) == 1 and alert.pending is None and alert.delivered_at is not None
        assert len(mails) == 1 and len(hooks) == 1

        # When it is still open a day after its delivery: one reminder
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=27))
        assert len(mails) == 2 and len(hooks) == 2 and "REMINDER" in mails[1]["Subject"]
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=28))
        assert len(mails) == 2

        # When the secret is rotated: a resolved message, the alert closed
        _secret_expires_in(env, 200, t0)
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=29))
        [alert] = _auth_alerts(env)
        assert alert.state == "resolved" and len(mails) == 3 and "RESOLVED" in mails[2]["Subject"]
        assert "RESOLVED" in hooks[2]["title"]
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=30))
        assert len(mails) == 3 and len(_auth_alerts(env)) == 1


def test_alerts_command_lists_and_ack_stops_reminders(sqlite_db, tmp_path, monkeypatch):
    with smtp_server() as (smtp_port, mails), webhook() as (hook_port, hooks), \
            catalog_env(tmp_path, monkeypatch, sqlite_db,
                        extra_config=_targets(smtp_port, hook_port, free_port())) as env:
        refresh_channel_token(env.cfg, env.db, "amazon-de")
        t0 = dt.datetime.now(UTC)
        _secret_expires_in(env, 5, t0)
        alerts_round(env.cfg, env.db, now=t0)
        ran = crossdock("--config", str(env.config_path), "alerts", "--json")
        assert ran.returncode == 0, ran.stderr
        [alert] = [a for a in ran.doc["alerts"] if a["code"] == "XD-AUTH-005"]
        assert alert["severity"] == "fail" and alert["subject"] == "client_secret within 7 days"
        acked = crossdock("--config", str(env.config_path), "alerts", "ack", str(alert["id"]), "--json")
        assert acked.returncode == 0 and acked.doc["acked"] is True
        alerts_round(env.cfg, env.db, now=t0 + dt.timedelta(hours=30))
        assert len(mails) == 1            # no reminder for an acknowledged alert
        missing = crossdock("--config", str(env.config_path), "alerts", "ack", "999999")
        assert missing.returncode == 2 and "XD-CFG-009" in missing.stderr


def test_the_engine_schedules_and_runs_the_alerts_round(sqlite_db, tmp_path, monkeypatch):
    """The path `crossdock worker` takes: the alerts schedule fires once, the job runs it."""
    from crossdock.sync_engine.engine import Engine

    with webhook() as (hook_port, hooks), catalog_env(
            tmp_path, monkeypatch, sqlite_db,
            extra_config=f'\n[alerts.targets.hook]\nurl = "json://127.0.0.1:{hook_port}/a"\nareas = ["SYNC"]\n') as env:
        engine = Engine(env.ctx)
        engine.ensure_schedules()
        with env.db.write() as s:          # only the alerts schedule is due now
            s.execute(update(Schedule).values(next_run_at=env.ctx.clock.now() + dt.timedelta(days=1)))
            s.execute(update(Schedule).where(Schedule.name == "alerts").values(next_run_at=env.ctx.clock.now()))
        engine.tick()
        with env.db.read() as s:
            opened = s.scalars(select(Alert).where(Alert.code == "XD-SYNC-008")).all()
            done = s.scalars(select(OutboxEntry.status).where(OutboxEntry.kind == "alerts")).all()
        # no worker has sent a heartbeat in this test: that is an alert (and the scheduler's silence
        # another), each delivered once to the SYNC target
        assert done == ["done"] and len(opened) == 1
        assert sorted(h["title"].split()[2].rstrip(":") for h in hooks) == ["XD-SYNC-004", "XD-SYNC-008"]
