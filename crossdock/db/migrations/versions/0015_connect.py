"""credentials.authorised_at: when the seller last granted the channel's credentials

Set by ``crossdock auth connect`` (the consent just given) and ``crossdock auth
set`` (``--authorised-on``, default the day it ran); ``auth status`` shows it.

Revision ID: 0015_connect
Revises: 0014_events
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0015_connect"
down_revision = "0014_events"
branch_labels = None
depends_on = None

_UTC = crossdock.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("credentials", sa.Column("authorised_at", _UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("authorised_at")
