"""Anomaly hints (see the module's functions); none yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HINT_CHECKS: tuple[Callable[..., Any], ...] = ()
