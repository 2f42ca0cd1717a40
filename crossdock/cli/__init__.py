"""The ``crossdock`` command (hatch's shape).

- :mod:`.app`: the root Typer app, its groups imported one way, and
  :func:`main` / :func:`entry`, the entry point (errors become their code,
  remedy and exit status);
- :mod:`.application`: the :class:`Application` the root callback puts on
  ``ctx.obj`` for every command (root options, consoles, configuration and
  database, each loaded once);
- one module per command group (``auth``, ``catalog``, ``config``, ``db``,
  ``errors``, ``fx``, ``inspect``, ``jobs``, ``listings``, ``logs``,
  ``quota``, ``sandbox``, ``stock``, ``sync``, ``demo``, ``warehouse``,
  ``worker``): options in, one domain call, its document out.
"""

from __future__ import annotations

from crossdock.cli.app import entry, environment_error, main
from crossdock.cli.application import Application

__all__ = ["Application", "entry", "environment_error", "main"]
