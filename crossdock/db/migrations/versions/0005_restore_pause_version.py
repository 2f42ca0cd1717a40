"""pause credential version: a channel's pause remembers the credentials it judged

``channels.paused_credential_version`` is the ``credentials.version`` the
failure that paused the channel was decided on. A pause is only written while
the credentials are still that version (a later refresh or ``auth set`` wins
over a stale failure), and a channel whose credentials moved past it since is
tried again by itself. Nullable: channels paused before this revision keep
their pause until a person resumes them, as before.

Revision ID: 0005_restore
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_restore"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channels", sa.Column("paused_credential_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of ``channels`` would cascade-delete
    # the rows that reference it (listings, credentials) on SQLite
    op.drop_column("channels", "paused_credential_version")
