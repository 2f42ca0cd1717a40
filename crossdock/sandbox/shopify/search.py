"""Shopify's search syntax (the ``query:`` argument) and cursor pagination.

Search: terms are ANDed by default; ``OR``, ``AND``, ``NOT``/``-term`` and
parentheses work; a term is ``field:value`` with optional comparator
(``:>``, ``:>=``, ``:<``, ``:<=``); values may be quoted with ' or "; a
trailing ``*`` is a prefix match; a bare word matches the resource's default
text fields. Unknown fields are ignored with a warning, as Shopify does
(``extensions.search``).

Cursors are opaque base64 of ``{"last_id", "last_value"}`` (Shopify's own
shape): pagination is keyset over (sort value, id), so orders created or
updated while a client pages never shift a page boundary.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from crossdock.clock import parse_iso

_TOKEN = re.compile(r"""\s*(?:(\()|(\))|((?:[^\s()'"]|'[^']*'|"[^"]*")+))""")
_TERM = re.compile(r"^(-?)([A-Za-z_][\w.]*):(>=|<=|>|<|=)?(.*)$", re.S)


@dataclass(frozen=True)
class Term:
    field: str | None   # None = free text
    op: str             # "=", ">", ">=", "<", "<="
    value: str
    negate: bool = False


@dataclass
class Node:
    kind: str                      # "and" | "or" | "not" | "term"
    children: list["Node"] = field(default_factory=list)
    term: Term | None = None


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v.replace("'", "").replace('"', "")


def tokenize(query: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        out.append(m.group(1) or m.group(2) or m.group(3))
    return out


def parse(query: str | None) -> Node | None:
    if not query or not query.strip():
        return None
    tokens = tokenize(query)
    node, _ = _parse_or(tokens, 0)
    return node


def _parse_or(tokens: list[str], i: int) -> tuple[Node, int]:
    left, i = _parse_and(tokens, i)
    parts = [left]
    while i < len(tokens) and tokens[i] == "OR":
        right, i = _parse_and(tokens, i + 1)
        parts.append(right)
    return (parts[0] if len(parts) == 1 else Node("or", parts)), i


def _parse_and(tokens: list[str], i: int) -> tuple[Node, int]:
    parts: list[Node] = []
    while i < len(tokens) and tokens[i] not in ("OR", ")"):
        if tokens[i] == "AND":
            i += 1
            continue
        node, i = _parse_unary(tokens, i)
        parts.append(node)
    if not parts:
        return Node("and", []), i
    return (parts[0] if len(parts) == 1 else Node("and", parts)), i


def _parse_unary(tokens: list[str], i: int) -> tuple[Node, int]:
    tok = tokens[i]
    if tok == "NOT":
        inner, i = _parse_unary(tokens, i + 1) if i + 1 < len(tokens) else (Node("and", []), i + 1)
        return Node("not", [inner]), i
    if tok == "(":
        inner, i = _parse_or(tokens, i + 1)
        if i < len(tokens) and tokens[i] == ")":
            i += 1
        return inner, i
    m = _TERM.match(tok)
    if m:
        neg, name, op, value = m.groups()
        return Node("term", term=Term(name.lower(), op or "=", _unquote(value), bool(neg))), i + 1
    neg = tok.startswith("-") and len(tok) > 1
    return Node("term", term=Term(None, "=", _unquote(tok[1:] if neg else tok), neg)), i + 1


# --- matching ---------------------------------------------------------------

Getter = Callable[[Any], Any]


@dataclass
class Searchable:
    """How one resource type answers search terms.

    ``fields`` maps a search field to (getter, kind) where kind is "text",
    "time" (a POSIX timestamp), "int" or "id" (legacy numeric id); ``text``
    are the getters a bare word is matched against.
    """

    fields: dict[str, tuple[Getter, str]]
    text: tuple[Getter, ...] = ()


def _to_ts(value: str) -> float | None:
    v = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            return dt.datetime.fromisoformat(v).replace(tzinfo=dt.timezone.utc).timestamp()
        return parse_iso(v).timestamp()
    except ValueError:
        return None


def _cmp(a: Any, op: str, b: Any) -> bool:
    if a is None or b is None:
        return False
    if op == "=":
        return a == b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    return a <= b


def _match_term(item: Any, term: Term, spec: Searchable, warnings: list[str]) -> bool:
    if term.field is None:
        needle = term.value.lower().rstrip("*")
        hit = any(needle in str(g(item) or "").lower() for g in spec.text)
        return hit != term.negate
    entry = spec.fields.get(term.field)
    if entry is None:
        warnings.append(f"Invalid search field for this query: {term.field}")
        return True   # Shopify ignores what it cannot search
    getter, kind = entry
    raw = getter(item)
    values = raw if isinstance(raw, (list, tuple, set)) else [raw]
    if kind == "time":
        want = _to_ts(term.value)
        if want is None:
            warnings.append(f"Invalid value for {term.field}: {term.value}")
            return True
        hit = any(_cmp(v, term.op, want) for v in values)
    elif kind in ("int", "id"):
        try:
            want_i = int(term.value.rsplit("/", 1)[-1])
        except ValueError:
            warnings.append(f"Invalid value for {term.field}: {term.value}")
            return True
        hit = any(_cmp(int(v), term.op, want_i) for v in values if v is not None)
    else:
        want_s = term.value.lower()
        if want_s.endswith("*"):
            hit = any(str(v or "").lower().startswith(want_s[:-1]) for v in values)
        else:
            hit = any(_cmp(str(v or "").lower(), term.op, want_s) for v in values)
    return hit != term.negate


def matches(item: Any, node: Node | None, spec: Searchable, warnings: list[str]) -> bool:
    if node is None:
        return True
    if node.kind == "term":
        assert node.term is not None
        return _match_term(item, node.term, spec, warnings)
    if node.kind == "not":
        return not matches(item, node.children[0], spec, warnings)
    if node.kind == "or":
        return any(matches(item, c, spec, warnings) for c in node.children)
    return all(matches(item, c, spec, warnings) for c in node.children)


def search(items: Iterable[Any], query: str | None, spec: Searchable, warnings: list[str]) -> list[Any]:
    tree = parse(query)
    return [it for it in items if matches(it, tree, spec, warnings)]


# --- cursors and pages --------------------------------------------------------

class CursorError(ValueError):
    pass


def encode_cursor(last_id: int, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return data["last_value"], int(data["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CursorError("Invalid cursor for current pagination sort.") from exc


@dataclass
class Page:
    items: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool

    @property
    def page_info(self) -> dict:
        return {"hasNextPage": self.has_next, "hasPreviousPage": self.has_previous,
                "startCursor": self.cursors[0] if self.cursors else None,
                "endCursor": self.cursors[-1] if self.cursors else None}


def paginate(items: Sequence[Any], *, key: Callable[[Any], tuple[Any, int]], first: int | None = None,
             after: str | None = None, last: int | None = None, before: str | None = None,
             reverse: bool = False) -> Page:
    """Keyset pagination over ``key(item) = (sort value, id)``."""
    ordered = sorted(items, key=key, reverse=reverse)
    keyed = [(key(it), it) for it in ordered]

    def beyond(k: tuple, c: tuple, forward: bool) -> bool:
        return (k > c) if (forward != reverse) else (k < c)

    window = keyed
    if after:
        value, last_id = decode_cursor(after)
        window = [(k, it) for k, it in window if beyond(k, (value, last_id), True)]
    if before:
        value, last_id = decode_cursor(before)
        window = [(k, it) for k, it in window if beyond(k, (value, last_id), False)]
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    if window:
        position = {id(it): i for i, (_, it) in enumerate(keyed)}
        start, end = position[id(window[0][1])], position[id(window[-1][1])]
        has_prev, has_next = start > 0, end < len(keyed) - 1
    else:
        has_prev = has_next = False
    return Page(items=[it for _, it in window], cursors=[encode_cursor(k[1], k[0]) for k, _ in window],
                has_next=has_next, has_previous=has_prev)
