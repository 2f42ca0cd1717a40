"""The console's Stock page shows the units a platform holds itself (Amazon
FBA) as a location of its own, as ``stock show`` does (issue 18)."""

from __future__ import annotations

import datetime as dt

from crossdock.db.models_stock import PlatformStockRow
from tests.console.support import console, login, seed


def test_the_stock_page_shows_platform_held_units_beside_the_warehouses(db, tmp_path, monkeypatch):
    seed(db)
    with db.write() as s:
        s.add(PlatformStockRow(channel="amazon-de", platform_sku="MUG-1-FBA", sku="MUG-1", fulfillable=40,
                               inbound=12, reserved=2, unfulfillable=1, total=55,
                               read_at=dt.datetime(2026, 12, 7, 4, 30, tzinfo=dt.timezone.utc)))
    client = console(db, tmp_path, monkeypatch)
    login(client, "viewer")
    page = client.get("/stock?sku=MUG-1").text
    block = page[page.index('id="platform-stock"'):]
    block = block[:block.index("</table>")]
    assert "<td>amazon-de</td><td>MUG-1-FBA</td><td>40</td><td>12</td><td>2</td><td>1</td>" in block
    assert "2026-12-07 04:30:00" in block
    other = client.get("/stock?sku=CAP-9").text
    assert 'id="platform-stock"' not in other
