"""One owner per piece of state (issue 12): who reads availability, and how
the rest reach the inventory.

- ``availability`` (the snapshot and the unseen units) is imported by
  ``dirty`` and ``inventory``; it imports neither, and ``dirty`` and
  ``inventory`` do not import each other in both directions — at module level
  or inside a function.
- Outside the ``inventory`` package, nothing uses its private modules or
  names (``inventory._release``, ``from crossdock.sync_engine.inventory._settle
  import …``): callers use the public names the package exports.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.test_layers import PACKAGE, REPO, imports

ENGINE = PACKAGE / "sync_engine"
INVENTORY = ENGINE / "inventory"


def _imports_of(paths: list[Path]) -> set[str]:
    return {m for p in paths for m in imports(p)}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_availability_is_read_from_one_module_and_dirty_and_inventory_do_not_import_each_other():
    inventory = _imports_of(sorted(INVENTORY.glob("*.py")))
    dirty = _imports_of([ENGINE / "dirty.py"])
    availability = _imports_of([ENGINE / "availability.py"])
    assert any(_under(m, "crossdock.sync_engine.availability") for m in dirty)
    assert any(_under(m, "crossdock.sync_engine.availability") for m in inventory)
    assert not any(_under(m, "crossdock.sync_engine.dirty") or _under(m, "crossdock.sync_engine.inventory")
                   for m in availability)
    assert not any(_under(m, "crossdock.sync_engine.inventory") for m in dirty)


def test_nothing_outside_the_inventory_package_reaches_for_its_private_parts():
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(REPO / "tests").rglob("*.py")]):
        if INVENTORY in path.parents:
            continue
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "crossdock.sync_engine.inventory"):
                names = [a.name for a in node.names]
                if "._" in node.module or any(n.startswith("_") for n in names):
                    found.append(f"{rel}:{node.lineno} imports {node.module}: {', '.join(names)}")
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                  and isinstance(node.value, ast.Name) and node.value.id == "inventory"):
                found.append(f"{rel}:{node.lineno} uses inventory.{node.attr}")
    assert found == []
