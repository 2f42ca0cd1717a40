#!/usr/bin/env bash
# Regenerates the initial migration from the models (development only, before 1.0).
set -euo pipefail
cd "$(dirname "$0")"
rm -f crossdock/db/migrations/versions/*.py /tmp/xd_gen.sqlite
.venv/bin/python - <<'PY'
from alembic import command
from crossdock.db.engine import Database
from crossdock.db.migrate import alembic_config
db = Database("sqlite:////tmp/xd_gen.sqlite")
cfg = alembic_config(db)
with db.engine.begin() as conn:
    cfg.attributes["connection"] = conn
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
rm -f /tmp/xd_gen.sqlite*
