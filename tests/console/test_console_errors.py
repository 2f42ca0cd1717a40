"""The Errors page (issue 14): one page per code with its meaning, causes,
remedy and what fixes it — the command, the console button (the page it is
on, the role it needs), or, for neither, that the remedy is done by hand."""

from __future__ import annotations

import html
import re

from crossdock.console.fixes import CONSOLE_FIXES
from crossdock.errors import CATALOGUE
from crossdock.sync_engine.hand_pause import pause_by_hand
from tests.console.support import console, login, seed


def _buttons(page: str) -> set[str]:
    return {html.unescape(b) for b in re.findall(r"<button[^>]*>([^<]*)</button>", page)}


def test_every_code_page_says_what_fixes_it_and_the_button_is_where_it_says(db, tmp_path, monkeypatch):
    seed(db)
    pause_by_hand(db, "ebay-gb", reason="carrier strike")      # Resume on one row, Pause on the other
    client = console(db, tmp_path, monkeypatch)
    login(client, "admin")                       # an admin sees every button
    index = client.get("/errors").text
    for code, spec in CATALOGUE.items():
        assert f'href="/errors/{code}"' in index, code
        page = html.unescape(client.get(f"/errors/{code}").text)
        assert spec.meaning in page and spec.remedy in page and all(c in page for c in spec.causes), code
        fixes = page[page.index("<h2>What fixes it</h2>"):]
        if spec.command:
            assert f'<pre class="command">{spec.command}</pre>' in fixes, code
        for fix in CONSOLE_FIXES.get(code, ()):
            assert f'<a href="{fix.path}">{fix.page}</a>, the <strong>{fix.button}</strong> button ' \
                   f'({fix.role} role or higher)' in fixes, code
        if not spec.command and code not in CONSOLE_FIXES:
            assert "No command or button fixes this" in fixes, code
        else:
            assert "No command or button fixes this" not in fixes, code
    # each button named is on its page, and the role named is the one the server asks
    for code, fixes in CONSOLE_FIXES.items():
        assert code in CATALOGUE
        for fix in fixes:
            assert fix.button in _buttons(client.get(fix.path).text), (code, fix)
    viewer = console(db, tmp_path, monkeypatch)
    login(viewer, "viewer")
    page = viewer.get("/errors/XD-SYNC-001").text
    assert '<a href="/jobs">Jobs</a>, the <strong>Retry</strong> button (operator role or higher)' in page
    assert '<pre class="command">crossdock jobs retry ID</pre>' in page
