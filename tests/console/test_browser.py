"""The console in a real headless Chromium (Playwright for Python driving
Debian's ``chromium``), against a live server on a seeded database.

The console is ``crossdock serve`` run as a process, as deployed.
Skipped, with the reason, where chromium or playwright is missing — except
in CI (``CI=true``), where that is a failure. Screenshots of the overview and
an order page go to ``screenshots/console/`` at the top of the repository
(git-ignored; the README names it), or ``$CROSSDOCK_SCREENSHOTS``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.support import ORDER_ID, PASSWORD, seed, write_config

CHROMIUM = os.environ.get("CROSSDOCK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("CROSSDOCK_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "screenshots" / "console")


def _require_browser() -> None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (pip install -e '.[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests need " + " and ".join(missing))
        pytest.skip("browser tests need " + " and ".join(missing))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def site(sqlite_db, tmp_path) -> Iterator[tuple[str, dict[str, int]]]:
    """``crossdock serve`` as an operator runs it — a real process with a
    configuration file, on a seeded SQLite database: (base URL, job ids)."""
    import httpx

    ids = seed(sqlite_db)
    write_config(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CROSSDOCK_DATABASE_URL": sqlite_db.url, "XD_CONSOLE_CLIENT_SECRET": "not-shown"}
    env.pop("CROSSDOCK_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "crossdock", "serve", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "crossdock serve did not answer within 30 s"
            time.sleep(0.1)
        yield base, ids
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "Traceback" not in err, err


def _login(browser, base: str, name: str, password: str = PASSWORD):
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def test_every_role_logs_in_and_sees_the_overview(browser, site):
    base, _ = site
    for role in ("viewer", "support", "operator", "admin"):
        page = _login(browser, base, role)
        assert page.url == f"{base}/"
        assert page.locator("h1").inner_text() == "Overview"
        assert f"{role} ({role})" in page.locator(".who").inner_text()
        page.context.close()


def test_support_finds_an_order_and_reads_its_trace_with_fx_and_tax(browser, site):
    base, _ = site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, base, "support")
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)
    page.click("text=Orders")
    page.fill("input[name=q]", ORDER_ID)
    page.click("text=Search")
    page.click(f"text={ORDER_ID}")
    assert page.url == f"{base}/orders/{ORDER_ID}"
    facts = page.locator("table.facts").inner_text()
    assert "29.90 EUR" in facts and "4.77" in facts and "marketplace" in facts
    trace = page.locator("table.trace").inner_text()
    assert "order.import" in trace and "FX 1.0000" in trace and "tax 4.77" in trace and "order.reserve" in trace
    page.screenshot(path=str(SCREENSHOTS / "order.png"), full_page=True)
    assert (SCREENSHOTS / "overview.png").stat().st_size > 0 and (SCREENSHOTS / "order.png").stat().st_size > 0


def test_a_viewer_is_refused_a_retry_and_an_operators_retry_is_audited(browser, site):
    base, ids = site
    viewer = _login(browser, base, "viewer")
    viewer.goto(f"{base}/jobs")
    with viewer.expect_response(lambda r: r.url.endswith(f"/jobs/{ids['failed']}/retry")) as refused:
        viewer.click("button:has-text('Retry')")
    assert refused.value.status == 403
    assert "XD-ACCESS-005" in viewer.locator(".refused").inner_text()
    operator = _login(browser, base, "operator")
    operator.goto(f"{base}/jobs")
    operator.click("button:has-text('Retry')")
    assert f"job {ids['failed']} back to pending" in operator.locator(".done").inner_text()
    admin = _login(browser, base, "admin")
    admin.goto(f"{base}/audit")
    rows = admin.locator("table").inner_text()
    assert "jobs.retry" in rows and "operator\tconsole" in rows


def test_an_operator_pauses_and_resumes_a_channel(browser, site):
    base, _ = site
    page = _login(browser, base, "operator")
    page.goto(f"{base}/channels")
    row = page.locator("tr", has_text="ebay-gb")
    row.locator("input[name=reason]").fill("carrier strike")
    row.locator("button:has-text('Pause')").click()
    assert "ebay-gb paused" in page.locator(".done").inner_text()
    row = page.locator("tr", has_text="ebay-gb")
    assert "XD-SYNC-009" in row.inner_text() and "carrier strike" in row.inner_text()
    row.locator("button:has-text('Resume')").click()
    assert "ebay-gb resumed" in page.locator(".done").inner_text()
    assert "XD-SYNC-009" not in page.locator("tr", has_text="ebay-gb").inner_text()


def test_a_post_without_the_form_token_is_refused_in_the_browser(browser, site):
    base, ids = site
    page = _login(browser, base, "operator")
    response = page.request.post(f"{base}/jobs/{ids['failed']}/retry", form={"nothing": "here"})
    assert response.status == 403 and "XD-ACCESS-006" in response.text()


def test_five_wrong_passwords_are_throttled(browser, site):
    base, _ = site
    page = browser.new_context().new_page()
    for attempt in range(5):
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", f"wrong {attempt}")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("button[type=submit]")
    assert answer.value.status == 429
    assert "XD-ACCESS-003" in page.locator(".refused").inner_text()
