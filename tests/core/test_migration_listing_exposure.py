"""Migration 0007_peak: the oversell guard's columns on ``channel_listings``
(exposure, held units), up and down, on SQLite and on PostgreSQL. Existing
listings start exposing what crossdock believes they show."""

from __future__ import annotations

import sqlalchemy as sa

from crossdock.db import models as m
from crossdock.db.engine import Database
from crossdock.db.migrate import current_revision, downgrade, upgrade

GUARD_COLUMNS = {"exposure_qty", "held_qty", "held_since"}


def _columns(db: Database) -> set[str]:
    with db.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("channel_listings")}


def test_exposure_columns_up_and_down_keep_the_listings(database):
    # Given a database at 0006_poison with three listings: one pushed, one only read back, one unknown
    upgrade(database, "0006_poison")
    with database.begin() as conn:
        # (channels and products are as today's models have them at 0006: their defaults fill the rest)
        conn.execute(sa.insert(m.Channel.__table__).values(name="ebay-uk", platform="ebay", account="A1",
                                                           currency="GBP"))
        for sku in ("A", "B", "C"):
            conn.execute(sa.insert(m.Product.__table__).values(sku=sku, title="p"))
        conn.execute(sa.text("INSERT INTO channel_listings (channel, sku, platform_ids, status, last_pushed_qty, "
                             "listed_qty_seen) VALUES ('ebay-uk', 'A', '{}', 'active', 4, 9), "
                             "('ebay-uk', 'B', '{}', 'active', NULL, 7), ('ebay-uk', 'C', '{}', 'active', NULL, NULL)"))
    # When it is upgraded
    upgrade(database, "0007_peak")
    assert current_revision(database) == "0007_peak"
    assert GUARD_COLUMNS <= _columns(database)
    # Then each listing exposes what crossdock believed it shows (else what was read back), none held
    with database.connect() as conn:
        rows = conn.execute(sa.text("SELECT sku, exposure_qty, held_qty FROM channel_listings ORDER BY sku")).all()
    assert [tuple(r) for r in rows] == [("A", 4, None), ("B", 7, None), ("C", None, None)]
    # And downgraded again, the columns go and the listings stay
    downgrade(database, "0006_poison")
    assert not GUARD_COLUMNS & _columns(database)
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM channel_listings")).scalar_one() == 3
