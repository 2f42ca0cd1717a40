"""Console tests hash passwords with argon2id at its smallest cost: the same
code path (hash, verify, re-hash check) in milliseconds instead of ~0.2 s a
hash, so the role matrix and throttle tests stay quick.
``test_the_production_hasher_is_argon2id_rfc9106`` checks the real parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch):
    from crossdock.access import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
