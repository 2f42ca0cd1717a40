"""``http.send``, the one send path of every connector, on real HTTP (respx)
and a real quota budget (memory backend on a clock the test moves): no
quota now is a QuotaWait that sleeps nowhere; transient failures are retried
within the call, each attempt charged to the budget; a 429 is not."""

from __future__ import annotations

import httpx
import pytest
import respx

from crossdock.connectors.http import CallContext, send
from crossdock.errors import NetError, QuotaError
from crossdock.ratelimit import Priority, QuotaBudget, QuotaWait, inline_waits
from crossdock.ratelimit.backends.memory import MemoryBackend

URL = "https://sp.test/orders/v0/orders/111/orderItems"
CTX = CallContext(platform="amazon", account="A1", channel="amazon-de", operation="getOrderItems",
                  priority=Priority.CRITICAL, entity="order 111")
BURST = 30          # getOrderItems: 0.5/s, burst 30 (docs/platform-facts.md#amazon-usage-plans)


class Clock:
    """Time for the budget, moved only by the test (or by a sleep it allows)."""

    def __init__(self) -> None:
        self.now_s = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def budget(clock: Clock) -> QuotaBudget:
    # sleep=no_sleep: the budget's own blocking acquire must never be reached
    return QuotaBudget(MemoryBackend(clock=clock), sleep=no_sleep, monotonic=clock, wall_clock=clock)


def available(budget: QuotaBudget) -> float:
    [bucket] = [e for e in budget.snapshot() if e["kind"] == "bucket" and e["operation"] == "getOrderItems"]
    return float(bucket["available"])


def call(client: httpx.Client, budget: QuotaBudget, *, method: str = "GET", sleep=no_sleep) -> httpx.Response:
    return send(client, client.build_request(method, URL), CTX, budget=budget, timeout_s=5, sleep=sleep)


@respx.mock
def test_no_quota_now_is_a_quota_wait_with_the_exact_delay_and_nothing_sleeps(budget):
    # Given getOrderItems' burst used up
    route = respx.get(URL).mock(return_value=httpx.Response(200, json={"payload": {}}))
    assert [budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)
            for _ in range(BURST)] == [0] * BURST
    # When a call asks for quota (no_sleep: a sleep anywhere fails the test)
    with httpx.Client() as client, pytest.raises(QuotaWait) as wait:
        call(client, budget)
    # Then it is a wait of one token at 0.5/s, coded, naming the bucket; nothing was sent
    assert wait.value.delay_s == pytest.approx(2.0) and wait.value.retry_after_s == wait.value.delay_s
    assert (wait.value.code, wait.value.channel) == ("XD-QUOTA-003", "amazon-de")
    assert (wait.value.platform, wait.value.account, wait.value.operation) == ("amazon", "A1", "getOrderItems")
    assert isinstance(wait.value, QuotaError) and wait.value.spec.action == "wait"
    assert route.call_count == 0


@respx.mock
def test_a_person_s_command_sleeps_through_a_short_wait(budget, clock):
    route = respx.get(URL).mock(return_value=httpx.Response(200, json={"payload": {}}))
    for _ in range(BURST):
        budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)
    # Inside inline_waits (crossdock sync run) the 2 s wait is slept, then the call goes out …
    with httpx.Client() as client, inline_waits(5.0, sleep=clock.advance):
        assert call(client, budget).status_code == 200
    assert route.call_count == 1
    # … but a wait longer than it allows is still raised
    for _ in range(BURST):
        budget.try_acquire("amazon", "A1", "getOrderItems", priority=Priority.CRITICAL)
    with httpx.Client() as client, inline_waits(1.0, sleep=clock.advance), pytest.raises(QuotaWait):
        call(client, budget)


@respx.mock
def test_a_5xx_then_200_succeeds_in_the_call_and_both_attempts_are_charged(budget):
    route = respx.get(URL).mock(side_effect=[httpx.Response(503, text="busy"),
                                             httpx.Response(200, json={"payload": {}})])
    waits: list[float] = []
    with httpx.Client() as client:
        assert call(client, budget, sleep=waits.append).status_code == 200
    assert route.call_count == 2
    assert available(budget) == pytest.approx(BURST - 2)       # the platform counted two calls
    assert len(waits) == 1 and 0 < waits[0] <= 1.0             # one short back-off


@respx.mock
def test_a_connect_error_exhausts_the_attempts_and_is_the_catalogue_s_network_code(budget):
    route = respx.get(URL).mock(side_effect=httpx.ConnectError("connection refused"))
    waits: list[float] = []
    with httpx.Client() as client, pytest.raises(NetError) as err:
        call(client, budget, sleep=waits.append)
    assert err.value.code == "XD-NET-001" and isinstance(err.value.__cause__, httpx.ConnectError)
    assert route.call_count == 3 and available(budget) == pytest.approx(BURST - 3)
    assert len(waits) == 2 and sum(waits) <= 2.0               # bounded: a worker is held seconds at most


@respx.mock
def test_a_request_that_may_have_arrived_is_sent_again_only_when_idempotent(budget):
    # A POST whose answer timed out may have been applied: not sent twice …
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with httpx.Client() as client, pytest.raises(NetError) as err:
        call(client, budget, method="POST", sleep=[].append)
    assert err.value.code == "XD-NET-002" and route.call_count == 1
    # … but one that never left (connection refused) is
    route.mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={})])
    with httpx.Client() as client:
        assert call(client, budget, method="POST", sleep=[].append).status_code == 200
    assert route.call_count == 1 + 2


@respx.mock
def test_a_429_is_not_retried_in_the_call_and_the_budget_holds_the_next_one(budget):
    quota = httpx.Response(429, json={"errors": [{"code": "QuotaExceeded", "message": "slow down"}]},
                           headers={"Retry-After": "3"})
    route = respx.get(URL).mock(return_value=quota)
    with httpx.Client() as client:
        with pytest.raises(QuotaError) as err:
            call(client, budget, sleep=no_sleep)
        assert err.value.code == "XD-QUOTA-001" and err.value.retry_after_s == 3.0
        assert route.call_count == 1
        # the budget heard the 429: the next call waits for Retry-After without going out
        with pytest.raises(QuotaWait) as wait:
            call(client, budget)
    assert wait.value.delay_s == pytest.approx(3.0) and route.call_count == 1
