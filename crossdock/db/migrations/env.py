"""Alembic environment. crossdock runs migrations programmatically
(``crossdock db upgrade``): the connection comes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from crossdock.db.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from crossdock.db.engine import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise SystemExit("no database URL given: crossdock migrates with `crossdock db upgrade`")
        engine = make_engine(url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("crossdock migrations run online only: crossdock db upgrade")
run_migrations_online()
