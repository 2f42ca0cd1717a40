"""Who may import whom, so platforms stay plug-ins (issue 12).

- ``crossdock/platforms`` (the spec and the registry) imports, at run time,
  nothing but ``crossdock.errors`` and itself: every part of crossdock may read
  the registry, and the registry reaches the platform packages by name only.
  Names it uses for type checkers alone sit under ``if TYPE_CHECKING:``.
- ``crossdock/connectors`` never imports the engine, the warehouse, the
  catalogue, the CLI or the sandbox: a connector changes the shape of data.
- ``crossdock/mapping`` and ``crossdock/ratelimit`` never import a connector:
  they read platform facts through the registry.
- ``crossdock/sandbox`` imports nothing of crossdock but itself,
  ``crossdock.clock`` (the scaled clock it runs on, shared with crossdock so
  both agree on the platforms' now), ``crossdock.errors`` (coded errors for
  bad input) and ``crossdock.models`` (normalised data): it simulates the
  platforms for crossdock, it is not part of it. Its command lives in
  ``crossdock/cli/sandbox.py``, with the rest of the CLI.

Imports inside functions count: they run all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "crossdock"


def _type_checking_only(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def imports(path: Path) -> list[str]:
    """The crossdock modules ``path`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_only(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return [m for m in out if m == "crossdock" or m.startswith("crossdock.")]


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _broken(folder: str, *, forbidden: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for module in imports(path):
            bad = _under(module, forbidden) if only is None else not _under(module, only)
            if bad and not (only is not None and module in ("crossdock",)):
                found.append(f"{rel} imports {module}")
    return sorted(set(found))


def test_the_registry_depends_on_nothing_it_describes():
    assert _broken("platforms", only=("crossdock.platforms", "crossdock.errors")) == []


def test_connectors_never_import_the_engine_warehouse_catalogue_cli_or_sandbox():
    assert _broken("connectors", forbidden=("crossdock.sync_engine", "crossdock.warehouse", "crossdock.catalog",
                                            "crossdock.cli", "crossdock.ops_cli", "crossdock.sandbox",
                                            "crossdock.demo", "crossdock.rehearsal")) == []


def test_mapping_and_quota_never_import_a_connector():
    assert _broken("mapping", forbidden=("crossdock.connectors",)) == []
    assert _broken("ratelimit", forbidden=("crossdock.connectors",)) == []


def test_the_sandbox_imports_nothing_of_the_engine():
    assert _broken("sandbox", only=("crossdock.sandbox", "crossdock.clock", "crossdock.errors",
                                    "crossdock.models")) == []

