"""The role table and the login throttle (crossdock.access), on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from crossdock.access.roles import ACTIONS, ROLES, allowed, require
from crossdock.access.throttle import Throttle
from crossdock.access.users import add_user, authenticate, new_token, user_for_token, disable_user
from crossdock.errors import AccessError

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)
PASSWORD = "a long enough password"


def test_each_role_may_do_what_the_one_below_may_and_more():
    """viewer reads; support also traces, logs, exports; operator also retries,
    pauses, adjusts stock; admin also users, credentials, the audit log."""
    may = {role: {a for a in ACTIONS if allowed(role, a)} for role in ROLES}
    assert may["viewer"] == {"read"}
    assert may["support"] - may["viewer"] == {"trace", "logs", "export"}
    assert may["operator"] - may["support"] == {"jobs.retry", "channels.pause", "channels.resume", "channels.refresh",
                                                "stock.adjust"}
    assert may["admin"] - may["operator"] == {"users.manage", "credentials", "audit.read"}
    assert not allowed("root", "read") and not allowed("admin", "no.such.action")
    with pytest.raises(AccessError) as refused:
        require("vic", "viewer", "jobs.retry")
    assert refused.value.code == "XD-ACCESS-005" and "operator" in refused.value.detail


def test_five_wrong_passwords_lock_the_name_even_for_the_right_one(db):
    """Given a user, when five logins fail within the window, then the sixth,
    with the right password, is XD-ACCESS-003 until the lockout ends; after it,
    the right password logs in and clears the count."""
    add_user(db, "olga", "operator", PASSWORD)
    throttle = Throttle(limit=5, window_s=900, lockout_s=600)
    codes = []
    for i in range(5):
        with pytest.raises(AccessError) as failed:
            authenticate(db, "olga", "wrong", address="10.0.0.1", throttle=throttle, now=NOW + dt.timedelta(seconds=i))
        codes.append(failed.value.code)
    assert codes == ["XD-ACCESS-002"] * 4 + ["XD-ACCESS-003"]
    with pytest.raises(AccessError) as locked:
        authenticate(db, "olga", PASSWORD, address="10.0.0.2", throttle=throttle, now=NOW + dt.timedelta(seconds=60))
    assert locked.value.code == "XD-ACCESS-003" and locked.value.retry_after_s == 544
    later = NOW + dt.timedelta(seconds=700)
    assert authenticate(db, "olga", PASSWORD, address="10.0.0.1", throttle=throttle, now=later).role == "operator"
    with db.read() as s:
        assert throttle.state(s, "olga") == {"failures": 0, "locked_until": None}


def test_a_wrong_name_fails_like_a_wrong_password_and_a_disabled_user_is_refused(db):
    add_user(db, "pia", "viewer", PASSWORD)
    throttle = Throttle()
    with pytest.raises(AccessError) as unknown:
        authenticate(db, "nobody", PASSWORD, address=None, throttle=throttle, now=NOW)
    assert unknown.value.code == "XD-ACCESS-002"
    token = new_token(db, "pia")["token"]
    assert user_for_token(db, token).name == "pia"
    disable_user(db, "pia")
    with pytest.raises(AccessError) as disabled:
        authenticate(db, "pia", PASSWORD, address=None, throttle=throttle, now=NOW)
    assert disabled.value.code == "XD-ACCESS-004"
    with pytest.raises(AccessError) as revoked:
        user_for_token(db, token)
    assert revoked.value.code == "XD-ACCESS-007"


def test_the_production_hasher_is_argon2id_rfc9106():
    """What ``users add`` stores outside the tests: argon2id, 64 MiB, 3 passes (RFC 9106 low-memory)."""
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher()
    assert (hasher.type, hasher.memory_cost, hasher.time_cost) == (Type.ID, 65536, 3)
    from crossdock.access import users

    assert users._DUMMY.startswith("$argon2id$v=19$m=65536,t=3")
