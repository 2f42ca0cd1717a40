"""Runtime dependencies earn their place (issue 12): every distribution in
``[project].dependencies`` is imported by some module under ``crossdock/``, and
every third-party module crossdock imports is declared there (or brought by
an extra declared there, as ``dramatiq[rabbitmq]`` brings pika) — not merely
pulled in by another package. Why each platform SDK is or is not a runtime
dependency: docs/dependencies.md.

Distribution names are mapped to the modules they install with the installed
metadata (``importlib.metadata.packages_distributions``): ``SQLAlchemy`` is
``sqlalchemy``, ``graphql-core`` is ``graphql``, ``psycopg[binary]`` is
``psycopg``. Imports inside functions count (they run all the same); imports
under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import defaultdict
from importlib.metadata import packages_distributions, requires
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "crossdock"

#: Dependencies that crossdock loads by name instead of importing, each with the
#: file and the text that loads it (the test checks the text is there).
LOADED_BY_NAME: dict[str, tuple[str, str]] = {
    # SQLAlchemy loads the PostgreSQL driver named in the URL it is given.
    "psycopg": ("crossdock/db/engine.py", "postgresql+psycopg://"),
    # Starlette parses the console's login and action forms with python-multipart.
    "python-multipart": ("crossdock/console/guard.py", "await request.form()"),
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> list[tuple[str, set[str]]]:
    """(distribution, extras) of ``[project].dependencies``, names normalised."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = []
    for spec in project["dependencies"]:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
        assert match, f"unreadable requirement {spec!r}"
        extras = {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}
        out.append((_normalise(match.group(1)), extras))
    return out


def runtime_requirements() -> list[str]:
    """The distribution names of ``[project].dependencies``, normalised, extras and versions dropped."""
    return [dist for dist, _ in _requirements()]


def declared_distributions() -> set[str]:
    """The runtime requirements and what their declared extras bring (``dramatiq[rabbitmq]`` brings pika)."""
    out = set()
    for dist, extras in _requirements():
        out.add(dist)
        for line in requires(dist) or []:
            marker = re.search(r"extra\s*==\s*[\"']([^\"']+)[\"']", line)
            if marker and marker.group(1) in extras:
                name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
                assert name
                out.add(_normalise(name.group(0)))
    return out


def modules_of() -> dict[str, set[str]]:
    """Installed distribution (normalised) -> the top-level modules it installs."""
    out: dict[str, set[str]] = defaultdict(set)
    for module, dists in packages_distributions().items():
        for dist in dists:
            out[_normalise(dist)].add(module)
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def imported_top_levels() -> dict[str, set[str]]:
    """Top-level module -> the crossdock files that import it at run time."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _type_checking_only(tree)
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found[alias.name.split(".")[0]].add(rel)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found[node.module.split(".")[0]].add(rel)
    return found


def test_every_runtime_dependency_is_imported_by_crossdock():
    installed = modules_of()
    imported = imported_top_levels()
    unused = []
    for dist in runtime_requirements():
        modules = installed.get(dist)
        assert modules, f"{dist} is declared but not installed: install the project with its dependencies"
        if any(m in imported for m in modules):
            continue
        if dist in LOADED_BY_NAME:
            file, text = LOADED_BY_NAME[dist]
            assert text in (REPO / file).read_text(encoding="utf-8"), f"{file} no longer loads {dist} ({text!r})"
            continue
        unused.append(f"{dist} (installs {', '.join(sorted(modules))})")
    assert unused == [], ("runtime dependencies nothing under crossdock/ imports — use them, or move them to an "
                          "extra with the reason in docs/dependencies.md: " + "; ".join(unused))


def test_every_third_party_module_crossdock_imports_is_declared():
    declared = declared_distributions()
    owners = packages_distributions()
    undeclared = []
    for module, files in sorted(imported_top_levels().items()):
        if module == "crossdock" or module in sys.stdlib_module_names or module == "__future__":
            continue
        dists = {_normalise(d) for d in owners.get(module, [])}
        if not dists & declared:
            undeclared.append(f"{module} (imported by {', '.join(sorted(files))})")
    assert undeclared == [], "imported but not a declared runtime dependency: " + "; ".join(undeclared)


def test_the_exemptions_are_declared_dependencies():
    declared = set(runtime_requirements())
    assert set(LOADED_BY_NAME) <= declared
