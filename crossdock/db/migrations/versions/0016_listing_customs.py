"""channel_listings: the platform's product data customs needs

A listing's HS code and country of origin as the platform's product data
gives them (``listings pull`` reads them: Amazon's ``country_of_origin``
attribute …). An order line of the SKU whose order carries none gets them
when it is imported (the platform's values, before the catalogue's). Nullable:
listings pulled before read as "the platform gave none".

Revision ID: 0016_listing_customs
Revises: 0015_connect
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_listing_customs"
down_revision = "0015_connect"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_listings") as batch:
        batch.add_column(sa.Column("hs_code", sa.String(16), nullable=True))
        batch.add_column(sa.Column("country_of_origin", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_listings") as batch:
        batch.drop_column("country_of_origin")
        batch.drop_column("hs_code")
