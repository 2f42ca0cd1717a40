"""The oversell guard's arithmetic (crossdock.mapping.allocation)."""

from __future__ import annotations

import itertools

import pytest

from crossdock.mapping.allocation import fair_shares, guarded_quantity


def test_desired_quantities_that_fit_are_kept():
    assert fair_shares(10, {"a": 5, "b": 5}) == {"a": 5, "b": 5}
    assert fair_shares(10, {"a": 3, "b": 0}) == {"a": 3, "b": 0}


def test_all_stock_everywhere_is_shared_equally_and_never_exceeds_the_stock():
    shares = fair_shares(10, {"a": 10, "b": 10, "c": 10})
    assert sum(shares.values()) == 10
    assert sorted(shares.values()) == [3, 3, 4]


def test_shares_follow_the_rules_proportions():
    # a rule that lists half of the stock gets half the share of one listing all of it
    assert fair_shares(9, {"all": 9, "half": 4}) == {"all": 6, "half": 3}


def test_a_unit_left_by_rounding_stays_where_it_is_already_listed():
    assert fair_shares(4, {"a": 4, "b": 4, "c": 4}, {"c": 2, "a": 1, "b": 1}) == {"a": 1, "b": 1, "c": 2}


@pytest.mark.parametrize("available", [0, 1, 2, 7, 31])
def test_shares_never_exceed_available_nor_a_channels_desire(available):
    for wants in itertools.product(range(0, 12, 3), repeat=3):
        desired = dict(zip("abc", wants))
        shares = fair_shares(available, desired)
        assert sum(shares.values()) <= available
        assert all(0 <= shares[c] <= desired[c] for c in desired)


def test_lowering_when_the_channels_may_sell_more_than_there_is():
    # 10 available, this channel exposes 10 and the others 20: it comes down, as far as room allows
    assert guarded_quantity(3, 10, exposed=10, held=0, others=20, available=10) == 0
    # with room for the units a push parks, it comes down to its share
    assert guarded_quantity(3, 5, exposed=5, held=0, others=2, available=10) == 3


def test_a_channel_above_its_share_within_the_stock_waits_rather_than_drop_below_it():
    # pushing would park its 5 units as held: only 1 would be left for it, below its share of 3
    assert guarded_quantity(3, 5, exposed=5, held=0, others=4, available=10) == 5


def test_raising_only_as_far_as_the_others_and_the_parked_units_leave_room():
    # 10 available, others may sell 6, this channel shows 1: pushing parks it, so it may rise to 3
    assert guarded_quantity(4, 1, exposed=1, held=0, others=6, available=10) == 3
    # units held for its own unseen sales count too
    assert guarded_quantity(4, 1, exposed=1, held=2, others=6, available=10) == 1
    # no room at all: it keeps what it shows
    assert guarded_quantity(4, 1, exposed=1, held=0, others=12, available=10) == 1


def test_unknown_shown_quantity_is_set_within_the_room():
    assert guarded_quantity(4, None, exposed=2, held=0, others=6, available=10) == 2
    assert guarded_quantity(4, None, exposed=0, held=0, others=0, available=10) == 4


def test_guarded_channels_together_never_commit_more_than_available():
    # the pulled listings show all of it everywhere; pushes in any order, each decided on what the
    # others may sell then, parking what the channel exposed: the total never grows past the stock
    # once under it, and the held units, once proven unsold, let every channel reach its share
    available = 9
    exposed = {"a": 9, "b": 9, "c": 9}
    held = {c: 0 for c in exposed}
    desired = {c: available for c in exposed}
    for _ in range(3):
        for ch in "cab":
            share = fair_shares(available, desired, exposed)[ch]
            others = sum(exposed[c] + held[c] for c in exposed if c != ch)
            q = guarded_quantity(share, exposed[ch], exposed=exposed[ch], held=held[ch], others=others,
                                 available=available)
            if q != exposed[ch]:
                held[ch] += exposed[ch]
                exposed[ch] = q
            total = sum(exposed.values()) + sum(held.values())
            assert total <= 27
        held = {c: 0 for c in exposed}        # the order import passed the pushes: nothing was sold
    assert sum(exposed.values()) + sum(held.values()) <= available
    assert exposed == fair_shares(available, desired, exposed)
