"""channel_listings.pushed_until: when the last push's calls had answered

A stock push starts (``last_pushed_at``) before its calls reach the
platform and is known to have arrived only once they answer. A sale the
platform records in between may have come before the push arrived — the
push overwrote it, and the channel still shows the pushed quantity — or
after it, and lowered the listing. Without the end of that window, a sale
imported later was always taken as after the push: crossdock lowered what
it believed the channel may still sell below what the channel showed, and
the oversell guard gave those units to another channel (1 unit oversold at
peak in CI's go-live tests, once on each backend).

Revision ID: 0013_push_flight
Revises: 0012_console_idx
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crossdock.db.base

revision = "0013_push_flight"
down_revision = "0012_console_idx"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_listings") as batch:
        batch.add_column(sa.Column("pushed_until", crossdock.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_listings") as batch:
        batch.drop_column("pushed_until")
