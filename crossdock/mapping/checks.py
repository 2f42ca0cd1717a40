"""Checks on values that come from a configuration file, whatever their annotation.

A rule's dataclass is annotated with what it should hold (``buffer: int``), but
a TOML table or a caller can still hand it anything. These checks take
``object``, so the test they make at run time is the one a reader and mypy see.
"""

from __future__ import annotations

__all__ = ["is_count", "is_text"]


def is_text(value: object) -> bool:
    """Text with something besides spaces in it."""
    return isinstance(value, str) and bool(value.strip())


def is_count(value: object) -> bool:
    """A whole number, 0 or more (``True`` and ``False`` are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
