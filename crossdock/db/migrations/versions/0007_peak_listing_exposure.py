"""listing exposure: the most units a channel may still sell of a listing

``channel_listings.exposure_qty`` is an upper bound of what the channel can
sell from now on: its last accepted quantity less the sales it made after it,
raised to a push's quantity from the moment that push may reach the channel
(before the call) until the channel accepted it. The oversell guard keeps the
sum over a SKU's channels at or below the units available. Existing rows take
the quantity crossdock believes each channel shows.

``held_qty`` / ``held_since``: units a channel may have sold before a push
overwrote its quantity (a quantity is set absolutely, so a sale the order
import has not brought yet is forgotten by the platform's listing but not by
the stock): counted as gone until the channel's order import has passed
``held_since`` (real time of the push) or the orders explaining them arrive.

Revision ID: 0007_peak
Revises: 0006_poison
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crossdock.db.base import UTCDateTime

revision = "0007_peak"
down_revision = "0006_poison"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_listings", sa.Column("exposure_qty", sa.Integer(), nullable=True))
    op.add_column("channel_listings", sa.Column("held_qty", sa.Integer(), nullable=True))
    op.add_column("channel_listings", sa.Column("held_since", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE channel_listings SET exposure_qty = COALESCE(last_pushed_qty, listed_qty_seen)")


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+), as 0005 does
    op.drop_column("channel_listings", "held_since")
    op.drop_column("channel_listings", "held_qty")
    op.drop_column("channel_listings", "exposure_qty")
