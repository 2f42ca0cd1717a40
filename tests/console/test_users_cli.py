"""``crossdock users …`` and ``crossdock audit``: users with roles and argon2
passwords, API tokens stored as hashes, every change audited (never a secret),
``--as NAME`` as the actor. On SQLite and PostgreSQL (``db``), through the real
entry point (tests/cli_run.py)."""

from __future__ import annotations

import json

from sqlalchemy import select

from crossdock.access.tables import ApiToken, User
from crossdock.access.users import sha256
from tests.cli_run import crossdock

PASSWORD = "correct horse battery"


def run(db, tmp_path, *args, input=None):
    (tmp_path / "crossdock.toml").write_text("")
    return crossdock(*args, cwd=tmp_path, env={"CROSSDOCK_DATABASE_URL": db.url}, input=input)


def test_add_list_passwd_disable_token_and_their_audit(db, tmp_path):
    """Given an empty database, when an admin adds a user, lists, changes its
    password, makes a token and disables it, then each step does what it
    says, the list shows no hash, the token is stored as its SHA-256 only, and
    the audit log names each change (as --as NAME, via cli) without a secret."""
    added = run(db, tmp_path, "--as", "alice", "users", "add", "bob", "--role", "operator", "--password-stdin",
                "--json", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.doc == {"name": "bob", "role": "operator", "disabled": False}

    listed = run(db, tmp_path, "users", "list", "--json").doc["users"]
    assert [(u["name"], u["role"], u["disabled"], u["api_tokens"]) for u in listed] == [("bob", "operator", False, 0)]
    assert "hash" not in json.dumps(listed)

    token = run(db, tmp_path, "users", "token", "bob")
    assert token.returncode == 0 and token.stdout.strip().startswith("xdt_")
    with db.read() as s:
        stored = s.scalars(select(ApiToken.token_sha256)).all()
        password_hash = s.scalar(select(User.password_hash))
    assert stored == [sha256(token.stdout.strip())]
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash

    assert run(db, tmp_path, "users", "passwd", "bob", "--password-stdin", input="another long one\n").returncode == 0
    disabled = run(db, tmp_path, "users", "disable", "bob", "--json").doc
    assert disabled["disabled"] and disabled["tokens_revoked"] == 1

    audit = run(db, tmp_path, "audit", "--json")
    assert audit.returncode == 0
    records = audit.doc["records"]
    assert [r["action"] for r in records] == ["users.disable", "users.passwd", "users.token", "users.add"]
    assert records[-1]["actor"] == "alice" and {r["via"] for r in records} == {"cli"}
    assert records[-1]["after"] == {"name": "bob", "role": "operator"}
    text = audit.stdout
    for secret in (PASSWORD, "another long one", token.stdout.strip(), password_hash):
        assert secret not in text


def test_refusals_have_codes_and_change_nothing(db, tmp_path):
    """A taken name, a short password, an unknown role or user: a code each, nothing written."""
    assert run(db, tmp_path, "users", "add", "carol", "--role", "viewer", "--password-stdin",
               input=PASSWORD).returncode == 0
    taken = run(db, tmp_path, "users", "add", "carol", "--role", "admin", "--password-stdin", "--json",
                input=PASSWORD)
    assert (taken.returncode, taken.doc["error"]["code"]) == (3, "XD-ACCESS-010")
    short = run(db, tmp_path, "users", "add", "dave", "--role", "viewer", "--password-stdin", "--json",
                input="short")
    assert short.doc["error"]["code"] == "XD-ACCESS-011"
    role = run(db, tmp_path, "users", "add", "dave", "--role", "root", "--password-stdin", "--json", input=PASSWORD)
    assert role.doc["error"]["code"] == "XD-CFG-009"
    unknown = run(db, tmp_path, "users", "passwd", "nobody", "--password-stdin", "--json", input=PASSWORD)
    assert (unknown.returncode, unknown.doc["error"]["code"]) == (3, "XD-ACCESS-001")
    assert [u["name"] for u in run(db, tmp_path, "users", "list", "--json").doc["users"]] == ["carol"]
    assert [r["action"] for r in run(db, tmp_path, "audit", "--json").doc["records"]] == ["users.add"]


def test_the_clis_changes_are_audited_as_the_named_actor(db, tmp_path):
    """stock adjust, stock import, fx load and auth resume, run with --as kim:
    each leaves an audit record naming kim, via cli, with what changed."""
    from decimal import Decimal

    from crossdock.db import models as m
    from crossdock.sync_engine.hand_pause import pause_by_hand

    (tmp_path / "crossdock.toml").write_text('[warehouses.DE]\ncountry = "DE"\n\n[channels.amazon-de]\n'
                                             'platform = "amazon"\naccount = "A1"\ncurrency = "EUR"\n'
                                             'marketplace = "A1PA6795UKMFR9"\n')
    (tmp_path / "stock.csv").write_text("sku,warehouse,delta,reason\nMUG-1,DE,2,count\n")
    (tmp_path / "rates.csv").write_text("date,base,quote,rate,source\n2026-12-01,EUR,USD,1.0500,test\n")
    with db.write() as s:
        s.add(m.Product(sku="MUG-1", title="Mug", safety_stock=0, base_price=Decimal("12.00"), base_currency="EUR"))
        s.add(m.Channel(name="amazon-de", platform="amazon", account="A1", currency="EUR"))
    pause_by_hand(db, "amazon-de", reason="maintenance")
    env = {"CROSSDOCK_DATABASE_URL": db.url}
    for args in (("stock", "adjust", "MUG-1", "+5", "-w", "DE", "-r", "receive"), ("stock", "import", "stock.csv"),
                 ("fx", "load", "rates.csv"), ("auth", "resume", "amazon-de")):
        ran = crossdock("--as", "kim", *args, cwd=tmp_path, env=env)
        assert ran.returncode == 0, (args, ran.stderr)
    records = {r["action"]: r for r in crossdock("audit", "--json", cwd=tmp_path, env=env).doc["records"]}
    assert {a for a, r in records.items() if (r["actor"], r["via"]) == ("kim", "cli")} == \
        {"stock.adjust", "stock.import", "fx.load", "channels.resume"}
    assert records["stock.adjust"]["before"] == {"on_hand": 0}
    assert records["stock.adjust"]["after"]["on_hand"] == 5
    assert records["stock.import"]["after"]["changes"] == 1
    assert records["fx.load"]["after"]["pairs"] == ["EUR/USD"]
    assert records["channels.resume"]["before"] == {"paused_code": "XD-SYNC-009"}


def test_cli_pause_retry_and_auth_set_are_audited_as_the_named_actor_or_the_os_user(db, tmp_path):
    """auth pause (the CLI's pause), jobs retry and auth set run with --as kim
    are audited as kim via cli with before and after; run without --as, a
    change is audited as the OS user running crossdock."""
    import getpass

    from crossdock.db import models as m

    (tmp_path / "crossdock.toml").write_text('[channels.amazon-de]\nplatform = "amazon"\naccount = "A1"\n'
                                             'currency = "EUR"\nmarketplace = "A1PA6795UKMFR9"\n')
    with db.write() as s:
        s.add(m.Channel(name="amazon-de", platform="amazon", account="A1", currency="EUR"))
        s.flush()
        job = m.OutboxEntry(kind="push_stock", channel="amazon-de", entity="MUG-1", payload={},
                            idempotency_key="k-audit", status="failed", attempts=5, last_code="XD-PLATFORM-001")
        s.add(job)
        s.flush()
        job_id = job.id
    env = {"CROSSDOCK_DATABASE_URL": db.url, "XD_TEST_REFRESH": "Atzr|audit-test-refresh-token"}
    for args in (("auth", "pause", "amazon-de", "--reason", "carrier strike"), ("jobs", "retry", str(job_id)),
                 ("auth", "set", "amazon-de", "--refresh-token-env", "XD_TEST_REFRESH")):
        ran = crossdock("--as", "kim", *args, cwd=tmp_path, env=env)
        assert ran.returncode == 0, (args, ran.stdout, ran.stderr)
    again = crossdock("auth", "pause", "amazon-de", "--reason", "night maintenance", "--json", cwd=tmp_path, env=env)
    assert again.returncode == 0 and again.doc["paused"] is True, again.stderr
    audit = crossdock("audit", "--json", cwd=tmp_path, env=env)
    assert "Atzr|audit-test-refresh-token" not in audit.stdout
    records = audit.doc["records"]
    assert [(r["action"], r["actor"], r["via"]) for r in records] == [
        ("channels.pause", getpass.getuser(), "cli"), ("auth.set", "kim", "cli"), ("jobs.retry", "kim", "cli"),
        ("channels.pause", "kim", "cli")]
    assert records[3]["before"] == {"paused_code": None}
    assert records[3]["after"] == {"paused_code": "XD-SYNC-009", "reason": "carrier strike"}
    assert records[2]["before"]["status"] == "failed" and records[2]["after"]["status"] == "pending"
    assert records[1]["before"] == {"paused_code": "XD-SYNC-009"}
    assert records[0]["after"]["reason"] == "night maintenance"
