"""events received from the platforms, and the orders they ask to read

``event_deliveries`` records every delivery a receiver got (accepted,
duplicate, refused with its code); accepted ones are unique per (channel,
delivery id), which is the dedupe. ``event_reads`` holds the orders events
named until a targeted read has stored them (crossdock.events).

Revision ID: 0014_events
Revises: 0013_push_flight
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import crossdock.db.base

revision = "0014_events"
down_revision = "0013_push_flight"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = crossdock.db.base.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "event_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("received_at", _UTC, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("order_ids", _JSON, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "delivery_id", name="uq_event_deliveries_delivery"),
    )
    op.create_index("ix_event_deliveries_channel_received", "event_deliveries", ["channel", "received_at"])
    op.create_table(
        "event_reads",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("wanted_at", _UTC, nullable=False),
        sa.Column("first_wanted_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("channel", "order_id"),
    )


def downgrade() -> None:
    op.drop_table("event_reads")
    op.drop_index("ix_event_deliveries_channel_received", table_name="event_deliveries")
    op.drop_table("event_deliveries")
