from __future__ import annotations

import json
import pickle

import pytest

from crossdock.errors import CATALOGUE, AuthError, CrossdockError, QuotaError, lookup
from crossdock.errors.catalogue import AREAS, CODE_RE


def test_catalogue_has_every_area_and_well_formed_entries():
    assert len(CATALOGUE) >= 30
    assert {s.area for s in CATALOGUE.values()} == set(AREAS)
    for code, spec in CATALOGUE.items():
        assert CODE_RE.match(code), code
        assert spec.title and spec.meaning and spec.remedy, code
        assert spec.causes, f"{code} lists no likely cause"


def test_codes_number_upwards_within_an_area_without_gaps():
    # Codes are appended, never renumbered: within an area they run 001, 002, …
    by_area: dict[str, list[int]] = {}
    for code in CATALOGUE:
        area, num = code.split("-")[1], int(code.split("-")[2])
        by_area.setdefault(area, []).append(num)
    for area, nums in by_area.items():
        assert nums == list(range(1, len(nums) + 1)), area


def test_error_carries_catalogue_text_and_context():
    exc = AuthError("XD-AUTH-002", channel="amazon-de", detail="LWA refresh token rejected")
    assert exc.code == "XD-AUTH-002"
    assert exc.title == lookup("XD-AUTH-002").title
    assert "amazon-de" in str(exc) and "LWA refresh token rejected" in str(exc)
    assert exc.to_dict()["remedy"] == lookup("XD-AUTH-002").remedy
    assert exc.spec.exit_code == 3


def test_unknown_code_and_wrong_area_fail_loudly():
    with pytest.raises(KeyError):
        CrossdockError("XD-AUTH-999")
    with pytest.raises(ValueError):
        QuotaError("XD-AUTH-001")


def test_errors_survive_pickling_for_brokers():
    exc = QuotaError("XD-QUOTA-001", channel="ebay-uk", retry_after_s=2.5, operation="GetOrders")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.code, back.channel, back.retry_after_s, back.context) == \
        ("XD-QUOTA-001", "ebay-uk", 2.5, {"operation": "GetOrders"})
    json.dumps(back.to_dict())
