"""One module owns what a channel shows (issue 12).

``channel_listings.last_pushed_qty``, ``last_pushed_at`` and
``listed_qty_seen`` are what crossdock believes each channel shows; the
planner, the dirty marks and the unseen-sale check all read them. Only
:mod:`crossdock.sync_engine.shown` writes them (and the migrations, which
create them). A write is, in the source:

- a keyword argument or dict key naming a column in ``.values(…)``,
  ``set_={…}``, ``insert(…)``/``update(…)`` or ``ChannelListing(…)``;
- an attribute or item assigned with a column's name (``row.last_pushed_qty = …``,
  ``out["last_pushed_qty"] = …``);
- any other keyword argument or dict entry naming a column, unless its value
  copies that same column out (``{"last_pushed_qty": row.last_pushed_qty}`` in
  an export document, ``ListingState(last_pushed_qty=r.last_pushed_qty)``);
- SQL text that sets one (``UPDATE channel_listings SET last_pushed_qty …``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "crossdock"
OWNER = PACKAGE / "sync_engine" / "shown.py"
MIGRATIONS = PACKAGE / "db" / "migrations"
COLUMNS = frozenset({"last_pushed_qty", "last_pushed_at", "listed_qty_seen", "exposure_qty", "held_qty",
                     "held_since"})
_WRITE_CALLS = frozenset({"values", "insert", "update", "ChannelListing", "on_conflict_do_update"})
_SQL_SET = re.compile(r"\bSET\b[^;]*\b(" + "|".join(sorted(COLUMNS)) + r")\s*=", re.IGNORECASE | re.DOTALL)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _copies(value: ast.expr, column: str) -> bool:
    """The value reads the same column (copying it out, not setting it)."""
    return any(isinstance(n, ast.Attribute) and n.attr == column and isinstance(n.ctx, ast.Load)
               for n in ast.walk(value))


def _key(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def writes(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, column) for every write of a shown column in ``source``."""
    tree = ast.parse(source, filename=filename)
    found: set[tuple[int, str]] = set()
    in_write_call: set[int] = set()        # dict literals passed to a write call
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            write_call = _name(node.func) in _WRITE_CALLS
            for kw in node.keywords:
                if kw.arg in COLUMNS and (write_call or not _copies(kw.value, kw.arg)):
                    found.add((kw.value.lineno, kw.arg))
                if kw.arg == "set_" or write_call:
                    in_write_call.update(id(n) for n in ast.walk(kw.value) if isinstance(n, ast.Dict))
            if write_call:
                in_write_call.update(id(n) for a in node.args for n in ast.walk(a) if isinstance(n, ast.Dict))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Attribute) and t.attr in COLUMNS and isinstance(t.ctx, ast.Store):
                        found.add((t.lineno, t.attr))
                    if isinstance(t, ast.Subscript) and isinstance(t.ctx, ast.Store) and _key(t.slice) in COLUMNS:
                        found.add((t.lineno, str(_key(t.slice))))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in _SQL_SET.finditer(node.value):
                if "channel_listings" in node.value:
                    found.add((node.lineno, m.group(1)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                column = _key(k)
                if column in COLUMNS and (id(node) in in_write_call or not _copies(v, column)):
                    found.add((v.lineno, column))
    return sorted(found)


def _outside_owner() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER or MIGRATIONS in path.parents:
            continue
        rel = path.relative_to(REPO).as_posix()
        out += [f"{rel}:{line} writes {column}" for line, column in writes(path.read_text(encoding="utf-8"), rel)]
    return out


def test_only_shown_writes_what_a_channel_shows():
    assert _outside_owner() == []


def test_the_check_finds_every_kind_of_write():
    # Given writes of each kind, and reads that copy the columns out
    source = '''
session.execute(update(LISTINGS).where(x).values(last_pushed_qty=3))
session.execute(update(LISTINGS).values({"listed_qty_seen": q}))
stmt.on_conflict_do_update(index_elements=["id"], set_={"last_pushed_at": now})
s.add(ChannelListing(channel="c", sku="s", last_pushed_qty=shown))
row.last_pushed_qty = 4
out["last_pushed_at"] = now
values = {"status": "active", "last_pushed_qty": offer.quantity}
s.execute(text("UPDATE channel_listings SET last_pushed_qty = 0 WHERE id = 1"))
doc = {"last_pushed_qty": row.last_pushed_qty, "last_pushed_at": row.last_pushed_at.isoformat()}
state = ListingState(sku="s", last_pushed_qty=r.last_pushed_qty, listed_qty_seen=r.listed_qty_seen)
select(LISTINGS.c.last_pushed_qty).where(LISTINGS.c.last_pushed_qty.is_not(None))
'''
    # Then every write is found, on its line, and no read is
    assert writes(source) == [(2, "last_pushed_qty"), (3, "listed_qty_seen"), (4, "last_pushed_at"),
                              (5, "last_pushed_qty"), (6, "last_pushed_qty"), (7, "last_pushed_at"),
                              (8, "last_pushed_qty"), (9, "last_pushed_qty")]


def test_the_owner_itself_writes_them():
    # The check looks for the right thing: the owner's own writes are found by it
    assert {column for _, column in writes(OWNER.read_text(encoding="utf-8"))} == COLUMNS
