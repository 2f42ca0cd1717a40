"""Migration 0004: a listing's eBay-shaped columns move into its ``platform_ids``.

A database at revision 0003 holds listings of both eBay kinds (an Inventory-API
offer and a legacy Trading listing), a Shopify listing with its inventory item,
an Amazon listing with nothing but its ASIN, and a listing whose platform_ids
already hold something; upgrading must carry every id into platform_ids and
drop the columns, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crossdock.db.base import UTCDateTime
from crossdock.db.engine import Database
from crossdock.db.migrate import current_revision, head_revision, upgrade

NOW = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.timezone.utc)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = UTCDateTime(timezone=True)

CHANNELS = sa.table("channels", sa.column("name"), sa.column("platform"), sa.column("account"),
                    sa.column("currency"), sa.column("created_at", _TS), sa.column("updated_at", _TS))
PRODUCTS = sa.table("products", sa.column("sku"), sa.column("title"), sa.column("description"),
                    sa.column("attributes", _JSON), sa.column("images", _JSON), sa.column("safety_stock"),
                    sa.column("created_at", _TS), sa.column("updated_at", _TS))
OLD_LISTINGS = sa.table("channel_listings", sa.column("channel"), sa.column("sku"), sa.column("listing_id"),
                        sa.column("offer_id"), sa.column("inventory_item_id"), sa.column("kind"),
                        sa.column("platform_ids", _JSON), sa.column("status"))
LISTINGS = sa.table("channel_listings", sa.column("channel"), sa.column("sku"), sa.column("listing_id"),
                    sa.column("platform_ids", _JSON), sa.column("status"))


def _columns(db: Database) -> set[str]:
    with db.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("channel_listings")}


def test_upgrade_moves_the_listing_ids_into_platform_ids(database):
    # Given a database at 0003 with listings as the old columns held them
    upgrade(database, "0003")
    with database.begin() as conn:
        conn.execute(sa.insert(CHANNELS), [
            {"name": n, "platform": p, "account": "acct", "currency": c, "created_at": NOW, "updated_at": NOW}
            for n, p, c in (("ebay-gb", "ebay", "GBP"), ("shopify-eu", "shopify", "EUR"),
                            ("amazon-de", "amazon", "EUR"))])
        conn.execute(sa.insert(PRODUCTS), [
            {"sku": s, "title": s, "description": "", "attributes": {}, "images": [], "safety_stock": 0,
             "created_at": NOW, "updated_at": NOW} for s in ("OFFER", "LEGACY", "VARIANT", "ASIN", "KEPT")])
        conn.execute(sa.insert(OLD_LISTINGS), [
            {"channel": "ebay-gb", "sku": "OFFER", "listing_id": "110011", "offer_id": "5004316010",
             "inventory_item_id": None, "kind": "inventory", "platform_ids": {}, "status": "active"},
            {"channel": "ebay-gb", "sku": "LEGACY", "listing_id": "220022", "offer_id": None,
             "inventory_item_id": None, "kind": "trading", "platform_ids": {"platform_status": "Active"},
             "status": "active"},
            {"channel": "shopify-eu", "sku": "VARIANT", "listing_id": "4711",
             "offer_id": None, "inventory_item_id": "gid://shopify/InventoryItem/9", "kind": None,
             "platform_ids": {"variant_id": "gid://shopify/ProductVariant/4711"}, "status": "active"},
            {"channel": "amazon-de", "sku": "ASIN", "listing_id": "B000ASIN01", "offer_id": None,
             "inventory_item_id": None, "kind": None, "platform_ids": {"asin": "B000ASIN01"}, "status": "active"},
            {"channel": "ebay-gb", "sku": "KEPT", "listing_id": None, "offer_id": "77", "inventory_item_id": None,
             "kind": "inventory", "platform_ids": {"offer_id": "stale", "rejection": {"code": "XD-MAP-007"}},
             "status": "rejected"},
        ])

    # When it is upgraded to the head revision
    upgrade(database)

    # Then the old columns are gone and every id is in platform_ids (the columns' values win)
    assert current_revision(database) == head_revision(database)
    assert not {"offer_id", "inventory_item_id", "kind"} & _columns(database)
    assert "listing_id" in _columns(database)
    with database.connect() as conn:
        rows = {r.sku: (r.listing_id, r.platform_ids) for r in conn.execute(sa.select(LISTINGS))}
    assert rows == {
        "OFFER": ("110011", {"kind": "inventory", "offer_id": "5004316010", "item_id": "110011"}),
        "LEGACY": ("220022", {"kind": "trading", "item_id": "220022", "platform_status": "Active"}),
        "VARIANT": ("4711", {"variant_id": "gid://shopify/ProductVariant/4711",
                             "inventory_item_id": "gid://shopify/InventoryItem/9"}),
        "ASIN": ("B000ASIN01", {"asin": "B000ASIN01"}),
        "KEPT": (None, {"kind": "inventory", "offer_id": "77", "rejection": {"code": "XD-MAP-007"}}),
    }


def test_the_ebay_connector_binds_what_the_migration_wrote(database):
    """The bindings the engine hands the eBay connector after the upgrade say
    what the old columns said (channels._ebay_listing_map rebuilt them before)."""
    from crossdock.connectors.ebay.mapping import ListingRef
    from crossdock.sync_engine.channels import listing_bindings

    upgrade(database, "0003")
    with database.begin() as conn:
        conn.execute(sa.insert(CHANNELS).values(name="ebay-gb", platform="ebay", account="a", currency="GBP",
                                                created_at=NOW, updated_at=NOW))
        conn.execute(sa.insert(PRODUCTS), [
            {"sku": s, "title": s, "description": "", "attributes": {}, "images": [], "safety_stock": 0,
             "created_at": NOW, "updated_at": NOW} for s in ("OFFER", "LEGACY")])
        conn.execute(sa.insert(OLD_LISTINGS), [
            {"channel": "ebay-gb", "sku": "OFFER", "listing_id": "110011", "offer_id": "5004316010",
             "inventory_item_id": None, "kind": "inventory", "platform_ids": {}, "status": "active"},
            {"channel": "ebay-gb", "sku": "LEGACY", "listing_id": "220022", "offer_id": None,
             "inventory_item_id": None, "kind": "trading", "platform_ids": {}, "status": "active"}])
    upgrade(database)
    bindings = listing_bindings(database, "ebay-gb")
    assert {sku: ListingRef.parse(ids) for sku, ids in bindings.items()} == {
        "OFFER": ListingRef("inventory", offer_id="5004316010", item_id="110011"),
        "LEGACY": ListingRef("trading", item_id="220022")}


def test_downgrade_puts_the_columns_back(database):
    upgrade(database)
    with database.begin() as conn:
        conn.execute(sa.insert(CHANNELS).values(name="ebay-gb", platform="ebay", account="a", currency="GBP",
                                                created_at=NOW, updated_at=NOW))
        conn.execute(sa.insert(PRODUCTS).values(sku="OFFER", title="t", description="", attributes={}, images=[],
                                                safety_stock=0, created_at=NOW, updated_at=NOW))
        conn.execute(sa.insert(LISTINGS).values(channel="ebay-gb", sku="OFFER", listing_id="110011",
                                                platform_ids={"kind": "inventory", "offer_id": "55",
                                                              "item_id": "110011"}, status="active"))
    from crossdock.db.migrate import downgrade

    downgrade(database, "0003")
    with database.connect() as conn:
        row = conn.execute(sa.select(OLD_LISTINGS)).one()
    assert (row.kind, row.offer_id, row.listing_id) == ("inventory", "55", "110011")
