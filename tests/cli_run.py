"""``crossdock ARGS`` in this process, as a shell would see it.

The real entry point (:func:`crossdock.cli.main`: error handling and exit
codes included) with its own stdout and stderr (Typer's ``CliRunner``
isolation), in a working folder, with variables of the environment set or
removed for the run. A real process only where the process is the point (the
exit status a shell sees, signals, an empty environment): tests/deploy/.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from crossdock.cli import Application, main

__all__ = ["Ran", "crossdock"]


@dataclass
class Ran:
    """What one run left: its exit status, stdout and stderr (as ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> Any:
        """stdout as the one JSON document it must be."""
        return json.loads(self.stdout)


def crossdock(*args: str, cwd: str | Path | None = None, env: Mapping[str, str | None] | None = None,
              obj: Application | None = None, input: str | None = None) -> Ran:
    """Run ``crossdock ARGS`` in-process in ``cwd`` (default: where we are).
    ``env``: variables set for the run (``None`` removes one; the rest of
    this process's environment stays); ``CROSSDOCK_CONFIG`` is removed unless
    given. ``obj``: the Application to run with (its consoles, say).
    ``input``: what the command reads on stdin."""
    overrides: dict[str, str | None] = {"CROSSDOCK_CONFIG": None, **(env or {})}
    with contextlib.chdir(cwd or os.getcwd()), CliRunner().isolation(input=input, env=overrides) as (out, err, _):
        code = main([str(a) for a in args], obj=obj)
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))
