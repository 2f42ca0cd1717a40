"""listing platform ids: a listing's binding is its connector's ``platform_ids``

The eBay-shaped columns of ``channel_listings`` (``offer_id``,
``inventory_item_id``, ``kind``) move into the opaque ``platform_ids`` JSON
the connector owns, and are dropped. ``listing_id`` stays: it is the id a
person reads and types (``listings list``, ``listings link --listing-id``).
A listing that had a kind (eBay's ``inventory`` / ``trading``) also gets its
``listing_id`` as ``item_id`` (eBay's ItemID), as the eBay connector's
listing map was rebuilt from these columns. The column values win over keys
already in ``platform_ids`` (the engine read the columns).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_MOVED = ("offer_id", "inventory_item_id", "kind")
_BATCH = 500


def _listings(*moved: str) -> sa.TableClause:
    return sa.table("channel_listings", sa.column("id", sa.BigInteger()), sa.column("listing_id", sa.String(128)),
                    sa.column("platform_ids", _JSON), *(sa.column(name, sa.String(128)) for name in moved))


def _bound(row: Any) -> dict[str, Any]:
    """The row's platform_ids with its old columns moved in."""
    ids = dict(row.platform_ids or {})
    for name in _MOVED:
        value = getattr(row, name)
        if value:
            ids[name] = value
    if row.kind and row.listing_id:
        ids["item_id"] = row.listing_id
    return ids


def upgrade() -> None:
    bind = op.get_bind()
    table = _listings(*_MOVED)
    rows = bind.execute(sa.select(table).where(sa.or_(*(table.c[name].is_not(None) for name in _MOVED)))
                        .order_by(table.c.id)).all()
    update = table.update().where(table.c.id == sa.bindparam("row_id")).values(platform_ids=sa.bindparam("ids"))
    params = [{"row_id": r.id, "ids": _bound(r)} for r in rows]
    for start in range(0, len(params), _BATCH):
        bind.execute(update, params[start:start + _BATCH])
    with op.batch_alter_table("channel_listings") as batch:
        for name in _MOVED:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("channel_listings") as batch:
        batch.add_column(sa.Column("offer_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("inventory_item_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    table = _listings(*_MOVED)
    rows = bind.execute(sa.select(table.c.id, table.c.platform_ids)).all()
    update = (table.update().where(table.c.id == sa.bindparam("row_id"))
              .values(**{name: sa.bindparam(f"v_{name}") for name in _MOVED}))
    params = [{"row_id": r.id, **{f"v_{name}": (r.platform_ids or {}).get(name) for name in _MOVED}}
              for r in rows if any((r.platform_ids or {}).get(name) for name in _MOVED)]
    for start in range(0, len(params), _BATCH):
        bind.execute(update, params[start:start + _BATCH])
