"""No part of crossdock branches on a platform's name, except the platform's
own folder and the sandbox (which simulates the platforms).

The rule, checked on the syntax tree of every module under ``crossdock/``:

1. no string literal *is* a platform's name (``"amazon"``, ``"ebay"``,
   ``"shopify"``): that is what ``== "amazon"``, ``in ("ebay", …)`` and
   ``{"shopify": …}`` are made of. Names are compared exactly (lower case, as
   a channel's ``platform =`` writes them): prose that mentions a platform
   ("Amazon: the seller id", "eBay allows 80 characters") is not a name used
   as data, and is allowed;
2. no ``.AMAZON`` / ``.EBAY`` / ``.SHOPIFY`` attribute (the old
   ``Platform.AMAZON`` enum);
3. no import of a platform's package (``crossdock.connectors.ebay…``,
   ``crossdock.sandbox.shopify…``): the platform registry imports them by
   name, nobody else imports them at all.

Docstrings are exempt from rule 1 because they are documentation for people,
never compared with data (a docstring that *is* exactly a platform's name would
be exempt too, and would be odd). Comments are not in the syntax tree.

Allowed: ``crossdock/connectors/<platform>/`` of each built-in platform and
``crossdock/sandbox/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from crossdock.platforms.registry import BUILTIN

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "crossdock"
NAMES = tuple(module.rsplit(".", 1)[1] for module in BUILTIN)
ALLOWED = tuple(PACKAGE / "connectors" / name for name in NAMES) + (PACKAGE / "sandbox",)


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def _platform_module(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 3 and parts[:2] in (["crossdock", "connectors"], ["crossdock", "sandbox"]) \
        and parts[2] in NAMES


def offences(path: Path) -> list[str]:
    """Every place in ``path`` that breaks the rule (see module doc)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                and node.value in NAMES:
            found.append(f"{node.lineno}: the platform name {node.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in {n.upper() for n in NAMES}:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _platform_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and (
                _platform_module(node.module) or any(_platform_module(f"{node.module}.{a.name}") for a in node.names)):
            found.append(f"{node.lineno}: from {node.module} import …")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not any(a == p or a in p.parents for a in ALLOWED))


def test_no_module_outside_the_platform_folders_names_a_platform():
    broken = {}
    for path in _modules():
        rel = path.relative_to(REPO).as_posix()
        found = offences(path)
        if found:
            broken[rel] = found
    assert broken == {}, "platform names outside the platform folders:\n" + "\n".join(
        f"{rel}:{line}" for rel, lines in broken.items() for line in lines)



@pytest.mark.parametrize("source, expected", [
    ('if ch.platform == "amazon":\n    pass\n', ["1: the platform name 'amazon'"]),
    ('TABLE = {"ebay": 25}\n', ["1: the platform name 'ebay'"]),
    ("from crossdock.models import Platform\nx = Platform.SHOPIFY\n", ["2: .SHOPIFY"]),
    ("from crossdock.connectors.ebay import mapping\n", ["1: from crossdock.connectors.ebay import …"]),
    ("from crossdock.connectors import shopify\n", ["1: from crossdock.connectors import …"]),
    ("import crossdock.sandbox.amazon.sim\n", ["1: import crossdock.sandbox.amazon.sim"]),
    ('"""Amazon, eBay and shopify are examples in prose."""\nHELP = "Amazon: the seller id"\n', []),
    ('def f():\n    """amazon"""\n', []),
])
def test_the_rule_catches_branches_and_leaves_prose(tmp_path, source, expected):
    path = tmp_path / "module.py"
    path.write_text(source, encoding="utf-8")
    assert offences(path) == expected
