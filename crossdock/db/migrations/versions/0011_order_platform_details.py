"""orders and order_lines: what the platform gives that support and customs need

Per order: tax, shipping and shipping tax in the shop's currency, and the
buyer's presentment currency with the total, tax and shipping in it. Per
line: shipping and its tax, the unit price in the presentment currency, and
the platform's HS code and country of origin (customs forms fall back to them
when the catalogue has none). Every column is nullable: orders imported before
keep NULL, which reads as "the platform gave none".

Revision ID: 0011_order_details
Revises: 0010_access
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_order_details"
down_revision = "0010_access"
branch_labels = None
depends_on = None

_MONEY = sa.Numeric(18, 4, asdecimal=True)
_ORDER_MONEY = ("tax_amount", "shipping_amount", "shipping_tax_amount", "presentment_total", "presentment_tax",
                "presentment_shipping")
_LINE_MONEY = ("shipping_amount", "shipping_tax_amount", "presentment_unit_price")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name in _ORDER_MONEY:
            batch.add_column(sa.Column(name, _MONEY, nullable=True))
        batch.add_column(sa.Column("presentment_currency", sa.String(3), nullable=True))
    with op.batch_alter_table("order_lines") as batch:
        for name in _LINE_MONEY:
            batch.add_column(sa.Column(name, _MONEY, nullable=True))
        batch.add_column(sa.Column("hs_code", sa.String(16), nullable=True))
        batch.add_column(sa.Column("country_of_origin", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        for name in ("country_of_origin", "hs_code", *reversed(_LINE_MONEY)):
            batch.drop_column(name)
    with op.batch_alter_table("orders") as batch:
        for name in ("presentment_currency", *reversed(_ORDER_MONEY)):
            batch.drop_column(name)
