"""The ``Application``: everything one ``crossdock`` invocation shares.

hatch's shape: the root callback builds one ``Application`` and puts it on
``ctx.obj``; every command takes it from there (:meth:`Application.of`). It
holds the options of the root (``--config``, ``-v``), the command's ``--json``
flag (so an error raised later prints as JSON), the two consoles (results on
stdout, progress and problems on stderr), and the configuration and database,
each loaded at most once and only when a command asks. Nothing here is
process-global: a test, or the web console, runs as many invocations in one
process as it likes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from crossdock.output import emit_json
from crossdock.since import parse_since

if TYPE_CHECKING:
    from crossdock.config import Config
    from crossdock.db.engine import Database
    from crossdock.sync_engine.engine import EngineContext
    from crossdock.warehouse.ledger import Ledger

__all__ = ["JSON_OPT", "Application", "parse_since"]

JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


class Application:
    """One invocation of ``crossdock``: root options, consoles, configuration and database."""

    def __init__(self, *, config_path: str | None = None, verbose: int = 0, json: bool = False,
                 out: Console | None = None, err: Console | None = None) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.json = json
        # soft_wrap: a long line (a path, a URL) is printed whole, never cut by the console width
        self.out = out if out is not None else Console(soft_wrap=True)
        self.err = err if err is not None else Console(stderr=True, soft_wrap=True)
        self._config: Config | None = None
        self._db: Database | None = None

    @classmethod
    def of(cls, ctx: typer.Context, *, json: bool = False) -> Application:
        """The invocation's Application (``ctx.obj``) with the command's ``--json``
        flag recorded: from here on an error prints as one JSON document."""
        app = ctx.ensure_object(cls)      # built by the root callback; made here only without one
        app.json = json
        return app

    # ------------------------------------------------------------------ configuration and database
    @property
    def config(self) -> Config:
        """The configuration (``--config``, ``CROSSDOCK_CONFIG`` or ./crossdock.toml),
        read once; XD-CFG-001 when there is none."""
        if self._config is None:
            from crossdock import config

            self._config = config.load(self.config_path)
        return self._config

    @property
    def db(self) -> Database:
        """The configured database at the current schema revision (an empty
        SQLite file is created and migrated), opened once and closed with the
        invocation."""
        if self._db is None:
            from crossdock.db.engine import Database
            from crossdock.db.migrate import ensure_current

            db = Database(self.config.database_url)
            try:
                ensure_current(db, auto_create=db.is_sqlite)
            except BaseException:
                db.dispose()
                raise
            self._db = db
        return self._db

    @contextlib.contextmanager
    def engine(self) -> Iterator[EngineContext]:
        """The engine as ``crossdock worker`` builds it (connectors, budget,
        clock) on this invocation's configuration and database, for one
        command run in this process; its connectors are closed after. A
        person waits for the command: quota waits up to ``PERSON_WAIT_S`` are
        slept through (a worker's are not, see crossdock.ratelimit.waits)."""
        from crossdock.ratelimit.waits import PERSON_WAIT_S, inline_waits
        from crossdock.sync_engine.engine import context_from_config

        ctx = context_from_config(self.config, self.db)
        try:
            with inline_waits(PERSON_WAIT_S):
                yield ctx
        finally:
            ctx.connectors.close()

    @property
    def ledger(self) -> Ledger:
        """The stock ledger and outbox the warehouse commands write through:
        the engine's (the warehouse never imports the engine itself)."""
        from crossdock.sync_engine.warehouse_ledger import ENGINE_LEDGER

        return ENGINE_LEDGER

    def close(self) -> None:
        """Release the database's connections (the invocation is over)."""
        if self._db is not None:
            self._db.dispose()
            self._db = None

    # ------------------------------------------------------------------ output
    def emit(self, doc: Any) -> None:
        """The command's result as exactly one JSON document on stdout."""
        emit_json(doc)

    @property
    def progress(self) -> bool:
        """Progress is shown only on a terminal."""
        return self.err.is_terminal
