"""The ``crossdock`` command as a package (issue 12): one module per group,
imported one way by the root, an Application per invocation on ``ctx.obj``,
and no domain module that imports the CLI back."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path

import pytest
import typer.main

import crossdock
import crossdock.cli
from crossdock.cli.app import app
from tests.cli_run import crossdock as run

PACKAGE = Path(crossdock.__file__).parent

# Every group with its commands, and every top-level command: what the README and the
# error catalogue's remedies name. A group that went missing would fail here.
EXPECTED = {
    "alerts": {"ack"},
    "auth": {"status", "set", "connect", "refresh", "pause", "resume"},
    "catalog": {"import", "export", "show", "list", "alias", "bundle"},
    "config": {"init", "check", "show", "reference", "new-key", "encrypt", "rotate-key"},
    "db": {"upgrade", "current", "backup", "backups", "restore", "check"},
    "erase": {"buyer"},
    "events": {"setup", "status"},
    "errors": {"list", "explain"},
    "export": {"orders", "customers", "products", "listings", "stock"},
    "fx": {"load", "show"},
    "jobs": {"failed", "list", "retry", "kinds"},
    "listings": {"pull", "list", "link"},
    "logs": {"trace"},
    "orders": {"quarantine", "retry-quarantined", "cancel"},
    "quota": set(),
    "returns": {"open", "receive", "list", "show", "pull"},
    "refunds": {"issue", "pull", "list"},
    "sandbox": {"serve"},
    "stock": {"adjust", "import", "show", "history", "platform-pull"},
    "sync": {"run", "reconcile", "status", "metrics"},
    "users": {"add", "list", "passwd", "disable", "token"},
    "warehouse": {"list", "reserve", "picklist", "ship", "reprint", "track", "flagged", "resolve"},
    "audit": None, "demo": None, "doctor": None, "inspect": None, "report": None, "serve": None, "worker": None,
}


def test_every_group_and_command_is_mounted():
    root = typer.main.get_command(app)
    assert set(root.commands) == set(EXPECTED)
    for name, commands in EXPECTED.items():
        sub = root.commands[name]
        assert set(getattr(sub, "commands", {}) or ()) == (commands or set()), name


def test_a_group_that_cannot_be_imported_stops_crossdock_instead_of_vanishing(monkeypatch):
    # Given the fx group cannot be imported (a missing dependency, a syntax error, …)
    monkeypatch.setitem(sys.modules, "crossdock.cli.fx", None)
    monkeypatch.delattr(crossdock.cli, "fx")
    monkeypatch.delitem(sys.modules, "crossdock.cli.app")
    # When the root app is imported, as `crossdock` does first
    # Then that is the error: the command does not start without a group
    with pytest.raises(ImportError, match=r"crossdock\.cli\.fx"):
        importlib.import_module("crossdock.cli.app")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_no_domain_module_imports_the_cli():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if PACKAGE / "cli" in path.parents or path == PACKAGE / "__main__.py":     # the CLI, and `python -m`
            continue
        cli = sorted(m for m in _imports(path) if m == "crossdock.cli" or m.startswith("crossdock.cli."))
        if cli:
            offenders[str(path.relative_to(PACKAGE))] = cli
    assert offenders == {}


def test_the_old_cli_modules_are_gone_and_the_cli_modules_are_small():
    for old in ("cli.py", "ops_cli.py", "config_cli.py", "workers.py"):
        assert not (PACKAGE / old).exists(), old
    assert sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.glob("*/cli.py")) == []
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (PACKAGE / "cli").glob("*.py")}
    assert max(sizes.values()) < 500, sizes


def test_each_invocation_has_its_own_application(tmp_path):
    # Given two folders with their own configuration
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "crossdock.toml").write_text(f'[database]\nurl = "sqlite:///{name}.sqlite"\n')
    # When one run names a configuration and fails with --json, and the next runs elsewhere without either
    named = run("--config", str(tmp_path / "a" / "crossdock.toml"), "config", "show", "--json", cwd=tmp_path / "b")
    failed = run("errors", "explain", "XD-NOPE-001", "--json", cwd=tmp_path / "b")
    plain = run("config", "show", cwd=tmp_path / "b")
    bad = run("errors", "explain", "XD-NOPE-001", cwd=tmp_path / "b")
    # Then nothing of the first run is left in the next one: its file, its --json
    assert named.returncode == 0 and named.doc["database_url"] == f"sqlite:///{tmp_path / 'a' / 'a.sqlite'}"
    assert failed.returncode == 2 and failed.doc["error"]["code"] == "XD-CFG-009"
    assert plain.returncode == 0 and json.loads(plain.stdout)["database_url"] == f"sqlite:///{tmp_path / 'b' / 'b.sqlite'}"
    assert bad.returncode == 2 and bad.stdout == "" and "XD-CFG-009" in bad.stderr and "Remedy" in bad.stderr
