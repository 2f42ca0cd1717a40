"""data safety: each backup taken (manifest facts, verification), each
restore the workers settle before they sync, an audit log (erasures), and the
counts of sync events removed by retention

Revision ID: 0008_safety
Revises: 0007_peak
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crossdock.db.base

revision = "0008_safety"
down_revision = "0007_peak"
branch_labels = None
depends_on = None

_UTC = crossdock.db.base.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("taken_at", _UTC, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("row_counts", _JSON, nullable=False),
        sa.Column("copied_to", sa.String(length=1000), nullable=True),
        sa.Column("pruned_at", _UTC, nullable=True),
        sa.Column("verified_at", _UTC, nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("verify_code", sa.String(length=16), nullable=True),
        sa.Column("verify_detail", sa.String(length=500), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backups")),
    )
    op.create_table(
        "restores",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("restored_at", _UTC, nullable=False),
        sa.Column("backup_taken_at", _UTC, nullable=False),
        sa.Column("backup_path", sa.String(length=1000), nullable=False),
        sa.Column("backup_sha256", sa.String(length=64), nullable=False),
        sa.Column("settled_at", _UTC, nullable=True),
        sa.Column("settled_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", _UTC, nullable=True),
        sa.Column("outcome", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restores")),
    )


    op.create_table(
        "audit_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "sync_log_summary",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "operation", "outcome", "code", name=op.f("pk_sync_log_summary")),
    )


def downgrade() -> None:
    op.drop_table("sync_log_summary")
    op.drop_table("audit_log")
    op.drop_table("restores")
    op.drop_table("backups")
