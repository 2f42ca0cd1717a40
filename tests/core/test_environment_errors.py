"""Ordinary environment problems get a code, a remedy and the code's exit
status — never a traceback or "This is a bug" (issue 11, section 5).

The database is really down (a closed port), really unknown (a database or a
user PostgreSQL does not have), really damaged (random bytes, a truncated or
overwritten file), really read-only (chmod, or ``chattr +i`` when the tests
run as root: root ignores mode bits but not the immutable flag). Commands run
in-process through ``crossdock.cli.main``; a real process only where the
process is the point (the exit status a shell sees, another privilege level).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crossdock import __version__
from crossdock import cli as cli_mod
from crossdock.db import models as m
from crossdock.db.engine import Database, is_unreachable, translate_db_error
from tests.db_template import migrate
from crossdock.errors import CATALOGUE, DataError
from crossdock.errors.spec import _AREA_EXIT, EXIT_AUTH_OR_CONNECTION, EXIT_FAILED
from crossdock.mapping.fx_store import fx_rates
from tests.services import PG_URL, require_postgres

CONFIG = """
[database]
url = "sqlite:///crossdock.sqlite"

[warehouses.DE]
name = "Leipzig"
country = "DE"
bins = ["A-01"]
"""

# Commands that open the database, as the README lists them.
DB_COMMANDS = [
    ["db", "upgrade"], ["db", "current"], ["db", "check"], ["db", "backup"], ["logs"], ["logs", "trace", "X-1"],
    ["sync", "status"], ["stock", "show"], ["stock", "history"], ["auth", "status"], ["jobs", "failed"],
    ["fx", "show"], ["warehouse", "list"], ["warehouse", "flagged"], ["orders", "quarantine"],
    ["orders", "retry-quarantined"],
]


# ------------------------------------------------------------------ helpers
@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def doc(self) -> dict:
        return json.loads(self.out)

    def assert_coded(self, code: str, exit_code: int) -> None:
        """The error a support person can act on: its code, the remedy, the code's exit status."""
        shown = self.err + self.out
        assert self.code == exit_code, shown
        assert code in shown, shown
        assert "Remedy" in shown or '"remedy"' in shown, shown
        assert "This is a bug" not in shown and "Traceback" not in shown, shown


@pytest.fixture
def crossdock(tmp_path, monkeypatch, capsys):
    """Run ``crossdock ARGS`` in-process in ``tmp_path`` (a folder with crossdock.toml)."""
    (tmp_path / "crossdock.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    monkeypatch.delenv("CROSSDOCK_DATABASE_URL", raising=False)

    def run(*args: str, database: str | None = None) -> Ran:
        if database is None:
            monkeypatch.delenv("CROSSDOCK_DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("CROSSDOCK_DATABASE_URL", database)
        capsys.readouterr()
        code = cli_mod.main(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root() -> bool:
    return os.geteuid() == 0


@contextmanager
def read_only(path: Path):
    """``path`` (file or folder) cannot be written while inside. chmod for a
    normal user; for root (which ignores mode bits) the immutable flag."""
    if not is_root():
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: nothing here makes a path read-only for root")
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed ({proc.stderr.strip()}): no CAP_LINUX_IMMUTABLE "
                    "or a file system without the flag")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def crossdock_database(path: Path, *, products: int = 0) -> Database:
    """A migrated crossdock SQLite database at ``path`` with a warehouse and ``products`` products."""
    db = Database(f"sqlite:///{path}")
    migrate(db)
    with db.write() as s:
        s.add(m.Warehouse(code="DE", name="Leipzig", country="DE"))
        s.add_all([m.Product(sku=f"SKU-{i:05d}", title="Porcelain mug, white, 300 ml " * 3) for i in range(products)])
    return db


# ------------------------------------------------------------------ the catalogue
def test_database_unreachable_exits_3_and_every_other_code_keeps_its_areas_exit():
    assert CATALOGUE["XD-DATA-001"].exit_code == EXIT_AUTH_OR_CONNECTION == 3
    for code, spec in CATALOGUE.items():
        if code != "XD-DATA-001":
            assert spec.exit_code == _AREA_EXIT.get(spec.area, EXIT_FAILED), code


def test_the_new_codes_say_what_to_do():
    for code in ("XD-DATA-008", "XD-WH-005", "XD-WH-006", "XD-MAP-014"):
        spec = CATALOGUE[code]
        assert spec.title and spec.meaning and spec.causes and spec.remedy and spec.command, code
    assert CATALOGUE["XD-DATA-007"].title == "Backup could not be made"      # not repurposed
    assert CATALOGUE["XD-DATA-006"].title == "Integrity check failed"


def test_version(crossdock):
    ran = crossdock("--version")
    assert (ran.code, ran.out.strip()) == (0, f"crossdock {__version__}")


# ------------------------------------------------------------------ database down or wrong URL
def _unreachable_urls() -> list:
    user, db_name = f"xd_nobody_{uuid.uuid4().hex[:6]}", f"xd_missing_{uuid.uuid4().hex[:6]}"
    server = PG_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    host = server.split("@", 1)[-1].split("//", 1)[-1]
    return [
        pytest.param(lambda tmp: f"postgresql://crossdock:s3cret-pw@127.0.0.1:{closed_port()}/crossdock",
                     False, id="postgres-port-closed"),
        pytest.param(lambda tmp: f"{server}/{db_name}", True, id="postgres-unknown-database"),
        pytest.param(lambda tmp: f"postgresql://{user}:s3cret-pw@{host}/postgres", True, id="postgres-unknown-user"),
        pytest.param(lambda tmp: f"sqlite:///{tmp / 'no-such-folder' / 'x.sqlite'}", False, id="sqlite-no-folder"),
        pytest.param(lambda tmp: f"sqlite:///{tmp}", False, id="sqlite-path-is-a-folder"),
    ]


@pytest.mark.parametrize("make_url, needs_server", _unreachable_urls())
def test_every_database_command_says_xd_data_001_with_the_url_masked(crossdock, tmp_path, make_url, needs_server):
    if needs_server:
        require_postgres()
    url = make_url(tmp_path)
    for args in DB_COMMANDS:
        ran = crossdock(*args, database=url)
        ran.assert_coded("XD-DATA-001", 3)
        assert "s3cret-pw" not in ran.err + ran.out
        if "s3cret-pw" in url:
            assert ":***@" in ran.err, ran.err
    # --json: one document, the error with its remedy
    ran = crossdock("logs", "--json", database=url)
    assert ran.code == 3 and ran.doc["error"]["code"] == "XD-DATA-001" and ran.doc["error"]["remedy"]


def test_a_database_down_is_exit_3_for_the_shell_too(tmp_path):
    # the process is the point: what a shell script sees
    (tmp_path / "crossdock.toml").write_text(
        f'[database]\nurl = "postgresql://crossdock@127.0.0.1:{closed_port()}/crossdock"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CROSSDOCK_CONFIG", "CROSSDOCK_DATABASE_URL")}
    proc = subprocess.run([sys.executable, "-m", "crossdock", "stock", "show"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "XD-DATA-001" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", ["read", "write"])
def test_a_connection_lost_mid_transaction_is_xd_data_001_and_the_next_transaction_reconnects(pg_database, mode):
    # Given a transaction on PostgreSQL whose server connection is killed half-way
    import psycopg

    db = Database(pg_database.url)
    try:
        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            with pytest.raises(DataError) as exc:
                with getattr(db, mode)() as s:
                    pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    s.execute(text("SELECT 1"))
        # Then it is the code a worker waits out, naming the database
        assert exc.value.code == "XD-DATA-001" and is_unreachable(exc.value)
        assert pg_database.name in exc.value.detail
        # And the next transaction gets a fresh connection
        with db.read() as s:
            assert s.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()


def test_a_read_only_postgresql_transaction_is_xd_data_008(pg_database):
    # a standby (or default_transaction_read_only) refuses writes with SQLSTATE 25006
    db = Database(pg_database.url)
    try:
        with pytest.raises(DataError) as exc:
            with db.write() as s:
                s.execute(text("SET TRANSACTION READ ONLY"))
                s.add(m.Warehouse(code="XX", name="x", country="DE"))
                s.flush()
        assert exc.value.code == "XD-DATA-008"
    finally:
        db.dispose()


def test_a_real_bug_in_a_database_call_is_not_translated(sqlite_db):
    with pytest.raises(Exception) as exc:
        with sqlite_db.read() as s:
            s.execute(text("SELEC 1"))
    assert not isinstance(exc.value, DataError)
    assert translate_db_error(exc.value) is None


# ------------------------------------------------------------------ a corrupted SQLite file
def _damaged(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "data" / "crossdock.sqlite"
    path.parent.mkdir()
    if kind == "random-bytes":
        path.write_bytes(random.Random(11).randbytes(64 * 1024))
        return path
    crossdock_database(path, products=3000).dispose()
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        del data[len(data) // 2:]
    else:                                   # one page in the middle overwritten, the file still opens
        page = 4096
        start = (len(data) // 3) // page * page
        data[start:start + page] = random.Random(7).randbytes(page)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["random-bytes", "truncated", "page-overwritten"])
def test_db_check_reports_a_damaged_sqlite_file_as_xd_data_006_and_leaves_it_alone(crossdock, tmp_path, kind):
    path = _damaged(tmp_path, kind)
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    ran = crossdock("db", "check", "--json", database=url)
    assert ran.code == 1, ran.err
    assert ran.doc["ok"] is False and ran.doc["checks"] == ["sqlite_integrity_check"]
    (finding,) = ran.doc["findings"]
    assert (finding["code"], finding["check"], finding["severity"]) == ("XD-DATA-006", "sqlite_integrity_check",
                                                                       "error")
    assert finding["remedy"] and "Traceback" not in ran.err
    ran = crossdock("db", "check", database=url)
    assert ran.code == 1 and "XD-DATA-006" in ran.out and "Remedy" in ran.out
    assert path.read_bytes() == before                 # checked read-only: not migrated, not "repaired"


@pytest.mark.parametrize("kind", ["random-bytes", "truncated"])
def test_every_command_on_an_unreadable_sqlite_file_says_xd_data_006(crossdock, tmp_path, kind):
    url = f"sqlite:///{_damaged(tmp_path, kind)}"
    for args in DB_COMMANDS:
        crossdock(*args, database=url).assert_coded("XD-DATA-006", 1)


# ------------------------------------------------------------------ a read-only database or folder
def test_a_read_only_sqlite_file_refuses_the_write_with_xd_data_008_and_keeps_the_stock(crossdock, tmp_path):
    path = tmp_path / "data" / "shop.sqlite"
    path.parent.mkdir()
    db = crossdock_database(path, products=1)
    db.dispose()
    url = f"sqlite:///{path}"
    assert crossdock("stock", "adjust", "SKU-00000", "+5", "-w", "DE", "-r", "receive", database=url).code == 0
    Database(url).dispose()                            # last connection closed: -wal folded back, removed
    with read_only(path):
        ran = crossdock("stock", "adjust", "SKU-00000", "+3", "-w", "DE", "-r", "receive", database=url)
        ran.assert_coded("XD-DATA-008", 1)
        assert f"the file {path} is read-only" in ran.err
    db = Database(url)
    with db.read() as s:
        assert s.scalar(select(m.StockLevel.on_hand)) == 5
    db.dispose()


def test_a_read_only_folder_is_xd_data_008_naming_the_folder(crossdock, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    crossdock_database(folder / "shop.sqlite").dispose()
    assert not (folder / "shop.sqlite-wal").exists()
    with read_only(folder):
        for args in (["logs"], ["db", "upgrade"], ["stock", "show"]):
            ran = crossdock(*args, database=f"sqlite:///{folder / 'shop.sqlite'}")
            ran.assert_coded("XD-DATA-008", 1)
            assert f"the folder {folder} is read-only" in ran.err
        # a new database in that folder cannot even be created
        ran = crossdock("logs", database=f"sqlite:///{folder / 'new.sqlite'}")
        ran.assert_coded("XD-DATA-008", 1)
        assert not (folder / "new.sqlite").exists()


def test_a_database_opened_read_only_refuses_writes_with_xd_data_008(tmp_path):
    # The same SQLite error (SQLITE_READONLY) without changing any permission: works for root too.
    crossdock_database(tmp_path / "shop.sqlite").dispose()
    db = Database(f"sqlite:///file:{tmp_path / 'shop.sqlite'}?mode=ro&uri=true")
    try:
        with db.read() as s:
            assert s.scalar(select(m.Warehouse.code)) == "DE"
        with pytest.raises(DataError) as exc:
            with db.write() as s:
                s.add(m.Warehouse(code="CN", name="Shenzhen", country="CN"))
        assert exc.value.code == "XD-DATA-008"
    finally:
        db.dispose()


@pytest.mark.parametrize("target", ["read-only-folder", "under-a-file"])
def test_db_backup_to_a_folder_it_cannot_write_is_xd_data_007(crossdock, tmp_path, target):
    crossdock_database(tmp_path / "crossdock.sqlite").dispose()
    if target == "under-a-file":
        (tmp_path / "notes.txt").write_text("a file, not a folder")
        ran = crossdock("db", "backup", "--to", f"{tmp_path / 'notes.txt' / 'backups'}/")
        ran.assert_coded("XD-DATA-007", 1)
        return
    out = tmp_path / "backups"
    out.mkdir()
    with read_only(out):
        ran = crossdock("db", "backup", "--to", f"{out}/")
        ran.assert_coded("XD-DATA-007", 1)
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ files named on the command line
def test_missing_folder_and_wrong_encoding_files_are_coded(crossdock, tmp_path):
    crossdock_database(tmp_path / "crossdock.sqlite").dispose()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "latin1.csv").write_bytes("sku,warehouse,delta,reason\nSKU-1,DE,+1,Eingang ü\n".encode("latin-1"))
    (tmp_path / "utf16.csv").write_bytes("date,base,quote,rate\n2026-01-05,EUR,USD,1.1\n".encode("utf-16"))
    for args, code, exit_code in [
        (["stock", "import", "missing.csv"], "XD-WH-003", 1),
        (["stock", "import", "folder.csv"], "XD-WH-003", 1),
        (["stock", "import", "latin1.csv"], "XD-WH-003", 1),
        (["fx", "load", "missing.csv"], "XD-CFG-009", 2),
        (["fx", "load", "folder.csv"], "XD-CFG-009", 2),
        (["fx", "load", "utf16.csv"], "XD-CFG-009", 2),
    ]:
        crossdock(*args).assert_coded(code, exit_code)


def test_an_unreadable_file_argument_is_xd_cfg_009(tmp_path):
    # Typer refuses an unreadable path before the command runs. Root reads everything, so as root the
    # command runs without the capabilities that let it ignore file modes (setpriv): the process is the point.
    crossdock_database(tmp_path / "crossdock.sqlite").dispose()
    secret = tmp_path / "rates.csv"
    secret.write_text("date,base,quote,rate\n2026-01-05,EUR,USD,1.1\n")
    secret.chmod(0)
    cmd = [sys.executable, "-m", "crossdock", "fx", "load", "rates.csv", "--json"]
    if is_root():
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", *cmd]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_") or k == "CROSSDOCK_SECRET_KEY"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error"]["code"] == "XD-CFG-009" and "not readable" in doc["error"]["detail"]
    assert "Traceback" not in proc.stderr


def test_an_os_error_escaping_a_command_is_coded_only_on_a_path_the_person_named(tmp_path):
    # a real OS error on a real path
    with pytest.raises(IsADirectoryError) as exc:
        open(tmp_path, "rb")    # noqa: SIM115 - the error is the point
    named = cli_mod.environment_error(exc.value, ["warehouse", "picklist", "--pdf", str(tmp_path)])
    assert named is not None and named.code == "XD-CFG-009" and str(tmp_path) in named.detail
    inside = cli_mod.environment_error(exc.value, ["demo", f"--folder={tmp_path.parent}"])
    assert inside is not None and inside.code == "XD-CFG-009"
    # the same error on a path nobody named is crossdock's own: it stays a bug
    assert cli_mod.environment_error(exc.value, ["stock", "show"]) is None
    assert cli_mod.environment_error(ZeroDivisionError("division by zero"), ["stock", "show"]) is None


def test_a_real_bug_still_says_this_is_a_bug(crossdock, tmp_path, monkeypatch):
    crossdock_database(tmp_path / "crossdock.sqlite").dispose()

    def broken(*_args, **_kwargs):
        return {}["rates"]      # a KeyError: crossdock's fault, not the machine's

    monkeypatch.setattr("crossdock.mapping.fx_store.fx_rates_doc", broken)
    ran = crossdock("fx", "show")
    assert ran.code == 1 and "This is a bug" in ran.err


# ------------------------------------------------------------------ numbers that do not fit, files given twice
def test_stock_import_refuses_overflow_and_repeated_counts_listing_every_line(crossdock, tmp_path):
    # Given 19 on hand (the story: two counts 15 and 17 used to leave 13, exit 0)
    crossdock_database(tmp_path / "crossdock.sqlite", products=2).dispose()
    assert crossdock("stock", "adjust", "SKU-00000", "+19", "-w", "DE", "-r", "receive").code == 0
    (tmp_path / "count.csv").write_text("sku,warehouse,on_hand,delta,reason\n"
                                        "SKU-00000,DE,15,,count\n"
                                        "SKU-00000,DE,17,,count\n"
                                        "SKU-00001,DE,99999999999,,count\n"
                                        "SKU-00001,XX,,+3000000000,receive\n")
    # When the file is imported
    ran = crossdock("stock", "import", "count.csv", "--json")
    # Then nothing is applied and every bad line is named with its code
    assert ran.code == 1
    problems = ran.doc["error"]["context"]["problems"]
    assert any(p.startswith("line 3: [XD-WH-006]") and "line 2" in p for p in problems), problems
    assert any(p.startswith("line 4: [XD-WH-005]") for p in problems), problems
    assert any(p.startswith("line 5: [XD-WH-005]") for p in problems), problems
    assert any(p.startswith("line 5: [XD-WH-001]") for p in problems), problems
    shown = crossdock("stock", "show", "--json").doc
    assert [(r["sku"], r["on_hand"]) for r in shown["levels"]] == [("SKU-00000", 19)]
    # and the text output lists them one per line
    ran = crossdock("stock", "import", "count.csv")
    assert "XD-WH-003" in ran.err and "\n    line 3: [XD-WH-006]" in ran.err


def test_stock_adjust_beyond_the_integer_column_is_xd_wh_005(crossdock, tmp_path):
    crossdock_database(tmp_path / "crossdock.sqlite", products=1).dispose()
    crossdock("stock", "adjust", "SKU-00000", "+99999999999", "-w", "DE", "-r", "receive").assert_coded("XD-WH-005", 1)
    assert crossdock("stock", "adjust", "SKU-00000", "+2147483000", "-w", "DE", "-r", "receive").code == 0
    crossdock("stock", "adjust", "SKU-00000", "+1000", "-w", "DE", "-r", "receive").assert_coded("XD-WH-005", 1)
    shown = crossdock("stock", "show", "--json").doc
    assert shown["levels"][0]["on_hand"] == 2_147_483_000


def test_fx_load_refuses_rates_that_do_not_fit_or_are_dated_after_today(crossdock, tmp_path):
    crossdock_database(tmp_path / "crossdock.sqlite").dispose()
    today = dt.datetime.now(dt.timezone.utc).date()
    tomorrow = today + dt.timedelta(days=1)
    (tmp_path / "rates.csv").write_text("date,base,quote,rate\n"
                                        f"{today},EUR,USD,1.0934\n"
                                        "2026-01-05,EUR,GBP,1e30\n"
                                        "2026-01-05,EUR,JPY,inf\n"
                                        "2026-01-05,EUR,CHF,nan\n"
                                        "2026-01-05,EUR,SEK,-11.2\n"
                                        "2026-01-05,EUR,PLN,0\n"
                                        "2026-01-05,EUR,NOK,0.000000001\n"
                                        f"{tomorrow},EUR,DKK,7.46\n")
    ran = crossdock("fx", "load", "rates.csv", "--json")
    assert ran.code == 2 and ran.doc["error"]["code"] == "XD-CFG-009"
    problems = ran.doc["error"]["context"]["problems"]
    assert [p["line"] for p in problems] == [3, 4, 5, 6, 7, 8, 9]
    assert problems[-1]["code"] == "XD-MAP-014" and str(tomorrow) in problems[-1]["message"]
    db = Database("sqlite:///crossdock.sqlite")
    with db.read() as s:
        assert s.execute(select(fx_rates.c.id)).first() is None            # nothing loaded
    db.dispose()
    # a rate dated today is fine
    (tmp_path / "today.csv").write_text(f"date,base,quote,rate\n{today},EUR,USD,1.0934\n")
    assert crossdock("fx", "load", "today.csv").code == 0
