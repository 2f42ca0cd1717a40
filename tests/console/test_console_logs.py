"""The Sync log page (issue 14): filter by channel, code, area and time;
every code links to its catalogue page."""

from __future__ import annotations

import re

from tests.console.support import console, login, seed


def _operations(page: str) -> list[str]:
    table = page[page.index("<table>"):]
    return re.findall(r"<td>((?:order|stock)\.\w+)</td>", table)


def test_the_sync_log_filters_by_channel_code_area_and_time_and_links_each_code(db, tmp_path, monkeypatch):
    # Given an import and a reservation 2 h ago on amazon-de, and a failed stock push 1 h ago on ebay-gb
    seed(db)
    client = console(db, tmp_path, monkeypatch)
    login(client, "support")
    everything = client.get("/logs").text
    assert _operations(everything) == ["stock.push", "order.reserve", "order.import"]
    assert '<a class="code" href="/errors/XD-PLATFORM-001">XD-PLATFORM-001</a>' in everything
    assert 'option value="PLATFORM"' in everything
    cases = {"channel=ebay-gb": ["stock.push"], "channel=amazon-de": ["order.reserve", "order.import"],
             "code=XD-PLATFORM-001": ["stock.push"], "code=XD-PLATFORM-002": [],
             "area=PLATFORM": ["stock.push"], "area=AUTH": [], "code=XD-PLATFORM": ["stock.push"],
             "since=90m": ["stock.push"], "since=30m": [], "since=3h": ["stock.push", "order.reserve", "order.import"],
             "channel=ebay-gb&area=PLATFORM&since=3h": ["stock.push"], "channel=amazon-de&area=PLATFORM": []}
    for query, expected in cases.items():
        page = client.get(f"/logs?{query}")
        assert page.status_code == 200 and _operations(page.text) == expected, query
    assert 'value="PLATFORM" selected' in client.get("/logs?area=PLATFORM").text
    # the catalogue page the link leads to
    assert client.get("/errors/XD-PLATFORM-001").status_code == 200
