"""Fixtures for the Amazon connector tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.connectors.amazon.mapping import loads_exact
from crossdock.connectors.amazon.settings import AmazonSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "amazon"
SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "amazon"
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
SP = "https://sp.test"
LWA = "https://lwa.test/auth/o2/token"


@pytest.fixture
def fixture():
    """Load a recorded payload from tests/fixtures/amazon (Decimals exact)."""

    def load(name: str):
        return loads_exact((FIXTURES / name).read_bytes())

    return load


@pytest.fixture
def fixture_text():
    return lambda name: (FIXTURES / name).read_text()


@pytest.fixture
def settings() -> AmazonSettings:
    return AmazonSettings(channel="amazon-us", seller_id="A1SELLERSANDBOX", marketplace_id=US,
                          client_id="amzn1.application-oa2-client.test", client_secret="secret",
                          refresh_token="Atzr|refresh", endpoint=SP, lwa_url=LWA, feed_poll_s=1,
                          feed_timeout_s=30)


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    if not SPECS.is_dir():
        pytest.skip(f"official Amazon specs not found at {SPECS} (expected <repo>/../shared/specs)")
    return SPECS
