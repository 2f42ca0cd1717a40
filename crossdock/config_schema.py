"""A small declarative schema for the TOML configuration.

The whole configuration is declared once (:mod:`crossdock.config_keys`) as
:class:`Table`, :class:`Entries` and :class:`Key` objects: each key's type,
default, allowed range or values, whether it is required, whether it is a
secret reference, and a one-line description. :func:`validate` walks a parsed
TOML document against it and returns the checked values plus *every* problem
found, each a :class:`~crossdock.errors.ConfigError` naming the file and the
key (``crossdock.toml: channels.amazon-us.currency must be …``);
:func:`render_markdown` prints the same declaration as the key reference
(``crossdock config reference``, docs/configuration.md), so the validator and
the documentation cannot drift apart.

Why not pydantic: messages must keep crossdock's form (file, dotted key, what
is wrong, one stable XD code per kind of problem), every problem of a file is
reported at once, and the same objects render the reference; a hand-written
walker of ~250 lines does exactly that.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crossdock.errors import ConfigError

__all__ = ["NO_DEFAULT", "relative_path", "Entries", "Invalid", "Key", "Table", "Validation", "ValueType", "flatten",
           "render_markdown", "validate"]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


class Invalid(Exception):
    """A value is wrong; the message says what is wrong (without the location)."""

    def __init__(self, message: str, code: str = "XD-CFG-003") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# ---------------------------------------------------------------- value types
@dataclass(frozen=True)
class ValueType:
    """``name`` is what the reference shows; ``parse`` returns the value to
    keep or raises :class:`Invalid`."""

    name: str
    parse: Callable[[Any], Any]


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise Invalid(f"must be text, got {v!r}")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise Invalid(f"must be a whole number, got {v!r}")
    return v


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Invalid(f"must be a number, got {v!r}")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise Invalid(f"must be true or false, got {v!r}")
    return v


def _text_list(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise Invalid(f"must be a list of text, got {v!r}")
    return list(v)


def _table(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Invalid(f"must be a table, got {v!r}")
    return dict(v)


def _decimal(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise Invalid(f"must be a number (or a number in quotes), got {v!r}")
    return v


def _date(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v
    if isinstance(v, str):
        try:
            dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"must be a date (2026-05-01) or date-time, got {v!r}") from None
        return v
    raise Invalid(f"must be a date (2026-05-01) or date-time, got {v!r}")


def relative_path(value: str, ctx: "Validation") -> str:
    """A key's check: a path relative to the configuration file's folder, made absolute."""
    from pathlib import Path

    if not value.strip():
        raise Invalid("must name a file or folder")
    path = Path(value).expanduser()
    if not path.is_absolute() and ctx.base_dir is not None:
        path = Path(ctx.base_dir) / path
    return str(path.resolve()) if ctx.base_dir is not None else str(path)


def _url(v: Any) -> str:
    v = _text(v)
    if not (v.startswith("http://") or v.startswith("https://")) or len(v) < 10:
        raise Invalid(f"must be an http:// or https:// URL, got {v!r}")
    return v


def _country(v: Any) -> str:
    v = _text(v)
    if len(v) != 2 or not v.isalpha():
        raise Invalid(f"must be a 2-letter ISO country code, got {v!r}")
    return v.upper()


def _currency(v: Any) -> str:
    v = _text(v)
    if len(v) != 3 or not v.isalpha():
        raise Invalid(f"must be an ISO 4217 code, got {v!r}")
    return v.upper()


def _text_or_table(v: Any) -> Any:
    if not isinstance(v, (str, dict)):
        raise Invalid(f"must be text or a table, got {v!r}")
    return v


def _ident(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise Invalid(f"must be text or a whole number, got {v!r}")
    return v


def _money(v: Any) -> Any:
    if not isinstance(v, (str, dict)):
        raise Invalid(f"must be money such as \"1.50 EUR\" or {{amount = \"1.50\", currency = \"EUR\"}}, got {v!r}")
    return v


def table_of(inner: ValueType) -> ValueType:
    """A table whose keys are free and whose values all have type ``inner``."""

    def parse(v: Any) -> dict[str, Any]:
        out = {}
        for k, x in _table(v).items():
            try:
                out[k] = inner.parse(x)
            except Invalid as exc:
                raise Invalid(f"entry {k!r} {exc.message}") from None
        return out

    return ValueType(f"table of {inner.name}", parse)


TEXT = ValueType("text", _text)
INT = ValueType("whole number", _int)
NUMBER = ValueType("number", _number)
BOOL = ValueType("true/false", _bool)
TEXT_LIST = ValueType("list of text", _text_list)
TABLE = ValueType("table", _table)
DECIMAL = ValueType("decimal (number or \"text\")", _decimal)
DATE = ValueType("date or date-time", _date)
URL = ValueType("URL", _url)
COUNTRY = ValueType("country code", _country)
CURRENCY = ValueType("currency code", _currency)
TEXT_OR_TABLE = ValueType("text or table", _text_or_table)
#: An id written as text or as a number (eBay category ids): ``"57990"`` or ``57990``.
IDENT = ValueType("id (text or whole number)", _ident)
MONEY = ValueType("money", _money)
#: A secret reference: ``{env = "VAR"}`` or ``{encrypted = "…"}``; parsed by the caller's ``secret`` hook.
SECRET = ValueType("secret reference", lambda v: v)


# ---------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Key:
    """One key. ``check(value, ctx)`` may normalise the value or raise
    :class:`Invalid` (or a ``ConfigError`` whose detail names its own key)."""

    name: str
    type: ValueType
    description: str
    default: Any = NO_DEFAULT
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    #: The allowed values, or a function giving them when they are only known at run time (platform names).
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None = None
    unit: str | None = None
    check: Callable[[Any, "Validation"], Any] | None = None

    @property
    def secret(self) -> bool:
        return self.type is SECRET

    def allowed_values(self) -> tuple[Any, ...] | None:
        return self.choices() if callable(self.choices) else self.choices

    def allowed(self) -> str:
        """The allowed values, as the reference and the messages say them."""
        choices = self.allowed_values()
        if choices is not None:
            return "one of " + ", ".join(str(c) for c in choices)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        if self.maximum is not None:
            return f"<= {self.maximum:g}"
        return ""


@dataclass(frozen=True)
class Table:
    """A TOML table with known keys. ``fill``: absent keys take their default
    in the result (and the table is there even when the file omits it);
    otherwise only the keys the file gives are kept. ``variants`` picks the
    keys by a value of the parent table (``options`` by ``platform``).
    ``check(values, ctx, path)`` runs after the keys, for rules across keys;
    it raises :class:`Invalid`, or a ``ConfigError`` whose detail names its key."""

    name: str
    description: str
    keys: tuple[Any, ...] = ()
    fill: bool = True
    variant_by: str | None = None
    variants: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    check: Callable[[dict[str, Any], "Validation", str], None] | None = None
    example: str | None = None

    def keys_for(self, parent: Mapping[str, Any] | None) -> tuple[Any, ...]:
        if self.variant_by is None:
            return self.keys
        chosen = (parent or {}).get(self.variant_by)
        return self.keys + tuple(self.variants.get(chosen, ())) if isinstance(chosen, str) else self.keys


@dataclass(frozen=True)
class Entries:
    """Named tables of one shape: ``[channels.NAME]``, ``[warehouses.CODE]``
(``label`` is the placeholder the reference shows for the name)."""

    name: str
    label: str
    entry: Table


# ---------------------------------------------------------------- validation
@dataclass
class Validation:
    """The state of one walk: the file (for messages), its folder, the
    problems found so far."""

    file: str
    base_dir: Any = None
    problems: list[ConfigError] = field(default_factory=list)

    def loc(self, path: str) -> str:
        return f"{self.file}: {path}"

    def problem(self, code: str, detail: str, **context: Any) -> None:
        self.problems.append(ConfigError(code, detail=detail, **context))

    def at(self, path: str, message: str, code: str = "XD-CFG-003") -> None:
        self.problem(code, f"{self.loc(path)} {message}", key=path)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_key(key: Key, value: Any, path: str, ctx: Validation) -> Any:
    """The checked value of one key, or NO_DEFAULT after recording a problem."""
    try:
        if key.secret:
            return _secret(key.name, value, ctx.loc(path))
        value = key.type.parse(value)
        choices = key.allowed_values()
        if choices is not None and value not in choices:
            raise Invalid(f"must be one of {', '.join(str(c) for c in choices)}, got {value!r}")
        if key.minimum is not None and isinstance(value, (int, float)):
            low = value <= key.minimum if key.exclusive_minimum else value < key.minimum
            if low:
                raise Invalid(f"must be {key.allowed()}, got {value!r}")
        if key.maximum is not None and isinstance(value, (int, float)) and value > key.maximum:
            raise Invalid(f"must be {key.allowed()}, got {value!r}")
        if key.check is not None:
            value = key.check(value, ctx)
        return value
    except Invalid as exc:
        ctx.at(path, exc.message, exc.code)
    except ConfigError as exc:     # a domain parser's own message names its key
        ctx.problem(exc.code, f"{ctx.file}: {exc.detail}", key=path)
    return NO_DEFAULT


def _secret(name: str, value: Any, where: str) -> Any:
    from crossdock.secrets import SecretRef

    if isinstance(value, str):
        raise Invalid(f"is a plain-text secret; write {name} = {{env = \"VAR\"}} and export VAR, or "
                      f"{name} = {{encrypted = \"…\"}} made by `crossdock config encrypt`", "XD-CFG-006")
    if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str) and value["env"]:
        return SecretRef(env=value["env"], where=where)
    if isinstance(value, dict) and set(value) == {"encrypted"} and isinstance(value["encrypted"], str) \
            and value["encrypted"]:
        return SecretRef(encrypted=value["encrypted"], where=where)
    raise Invalid("must be {env = \"VAR\"} or {encrypted = \"…\"}")


def _validate_table(table: Table, data: Any, path: str, ctx: Validation,
                    parent: Mapping[str, Any] | None, *, root: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        ctx.at(path, f"must be a table, got {data!r}")
        data = {}
    keys = table.keys_for(parent)
    known = [k.name for k in keys]
    unknown = [k for k in data if k not in known]
    if unknown and root:
        ctx.problem("XD-CFG-003", f"{ctx.file}: unknown section(s) {', '.join(sorted(unknown))}; "
                                  f"known: {', '.join(sorted(known))}")
    else:
        for name in unknown:
            ctx.problem("XD-CFG-003", f"{ctx.loc(_join(path, name))}: unknown key "
                                      f"(known: {', '.join(sorted(known)) or 'none'})", key=_join(path, name))
    out: dict[str, Any] = {}
    for spec in keys:
        where = _join(path, spec.name)
        present = spec.name in data
        if isinstance(spec, Key):
            value = _check_key(spec, data[spec.name], where, ctx) if present else NO_DEFAULT
            if value is not NO_DEFAULT:
                out[spec.name] = value
            elif not present and spec.required:
                ctx.at(where, "is required", "XD-CFG-004")
            elif table.fill and spec.default is not NO_DEFAULT:     # absent, or invalid and reported
                out[spec.name] = copy.deepcopy(spec.default)
        elif isinstance(spec, Table):
            if present or spec.fill:
                out[spec.name] = _validate_table(spec, data.get(spec.name, {}), where, ctx, out)
        elif isinstance(spec, Entries):
            raw = data.get(spec.name, {})
            if not isinstance(raw, dict):
                ctx.at(where, f"must be a table of [{where}.{spec.label}] tables, got {raw!r}")
                raw = {}
            out[spec.name] = {name: _validate_table(spec.entry, entry, _join(where, name), ctx, out)
                              for name, entry in raw.items()}
    if table.check is not None:
        try:
            table.check(out, ctx, path)
        except Invalid as exc:
            ctx.at(path, exc.message, exc.code)
        except ConfigError as exc:
            ctx.problem(exc.code, f"{ctx.file}: {exc.detail}", key=path)
    return out


def validate(schema: Table, data: Mapping[str, Any], *, file: str, base_dir: Any = None) -> tuple[dict, list]:
    """(checked values, problems) of a parsed TOML document against ``schema``."""
    ctx = Validation(file=file, base_dir=base_dir)
    values = _validate_table(schema, dict(data), "", ctx, None, root=True)
    return values, ctx.problems


# ---------------------------------------------------------------- the reference
def _default_text(key: Key) -> str:
    if key.required:
        return "**required**"
    if key.default is NO_DEFAULT or key.default is None:
        return "—"
    value = key.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    if isinstance(value, (list, tuple)):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _key_rows(keys: tuple[Any, ...]) -> list[str]:
    rows = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for k in keys:
        if not isinstance(k, Key):
            continue
        typ = k.type.name + (f" ({k.unit})" if k.unit else "")
        rows.append(f"| `{k.name}` | {_cell(typ)} | {_default_text(k)} | {_cell(k.allowed())} | "
                    f"{_cell(k.description)} |")
    return rows


def _render(spec: Any, header: str, level: int, lines: list[str]) -> None:
    if isinstance(spec, Entries):
        _render(spec.entry, f"{header}.{spec.label}" if header else f"{spec.name}.{spec.label}", level, lines)
        return
    table: Table = spec
    lines += [f"{'#' * level} `[{header}]`", "", table.description, ""]
    if table.example:
        lines += ["```toml", table.example.strip("\n"), "```", ""]
    if any(isinstance(k, Key) for k in table.keys):
        lines += _key_rows(table.keys) + [""]
    for value, extra in table.variants.items():
        if extra:
            lines += [f"{'#' * (level + 1)} `[{header}]` when `{table.variant_by} = \"{value}\"`", ""]
            lines += _key_rows(extra) + [""]
    for sub in table.keys:
        if isinstance(sub, Table):
            _render(sub, f"{header}.{sub.name}", level + 1, lines)
        elif isinstance(sub, Entries):
            _render(sub.entry, f"{header}.{sub.name}.{sub.label}", level + 1, lines)


def render_markdown(schema: Table, *, title: str, intro: str) -> str:
    """The key reference of ``schema`` as Markdown (deterministic: same schema, same text)."""
    lines = [f"# {title}", "", intro.strip(), ""]
    for spec in schema.keys:
        if isinstance(spec, Table):
            _render(spec, spec.name, 2, lines)
        elif isinstance(spec, Entries):
            _render(spec.entry, f"{spec.name}.{spec.label}", 2, lines)
    return "\n".join(lines).rstrip("\n") + "\n"


def flatten(schema: Table) -> list[dict[str, Any]]:
    """Every key of ``schema`` as one row: dotted key, type, default, required,
    allowed values, secret, unit, description (and the variant it belongs to)."""
    rows: list[dict[str, Any]] = []

    def walk(table: Table, prefix: str) -> None:
        groups: list[tuple[str | None, tuple[Any, ...]]] = [(None, table.keys)]
        groups += [(f"{table.variant_by} = {value}", extra) for value, extra in table.variants.items()]
        for when, keys in groups:
            for spec in keys:
                if isinstance(spec, Key):
                    row = {"key": _join(prefix, spec.name), "type": spec.type.name, "required": spec.required,
                           "default": None if spec.default is NO_DEFAULT else spec.default,
                           "allowed": spec.allowed() or None, "secret": spec.secret, "unit": spec.unit,
                           "description": spec.description}
                    if when:
                        row["when"] = when
                    rows.append(row)
                elif isinstance(spec, Table):
                    walk(spec, _join(prefix, spec.name))
                elif isinstance(spec, Entries):
                    walk(spec.entry, _join(prefix, f"{spec.name}.{spec.label}"))

    walk(schema, "")
    return rows
