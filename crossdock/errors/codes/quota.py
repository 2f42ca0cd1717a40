"""The XD-QUOTA codes: aPI quota and throttling."""

from __future__ import annotations

from crossdock.errors.spec import ACTION_FAIL
from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-QUOTA-001", "Rate limited by the platform",
      "The platform answered 429 / THROTTLED: the request rate exceeded the account's quota. crossdock "
      "empties its local bucket and waits as the platform says; nothing is lost.",
      ("another tool uses the same seller credentials", "the quota is lower than the configured plan"),
      "No action needed if rare. If frequent, lower the rate for the operation in [ratelimit] or stop "
      "the other tool.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-002", "Daily call limit reached",
      "The account used its daily call allowance (eBay error 518 or the local daily budget).",
      ("a resync pushed far more calls than usual", "the allowance is the low default"),
      "Wait for the daily reset shown, or apply for a higher limit with the platform.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-003", "Waiting for quota",
      "The local budget has no token for this operation yet; the job is rescheduled at the exact time "
      "one becomes free. This is not a failure.",
      ("normal pacing under load",),
      "None; it resolves on its own.", "crossdock quota", retryable=True),
    E("XD-QUOTA-004", "Listing revision limit reached",
      "eBay allows at most 250 revisions of one listing per calendar day; further updates wait for the "
      "next day.",
      ("a price or stock flip-flop on one listing",),
      "Check for a rule that changes this listing too often; the update is sent after the reset.",
      "crossdock quota", retryable=True),
    E("XD-QUOTA-005", "Query too expensive",
      "A Shopify GraphQL query exceeds the maximum single-query cost of 1,000 points.",
      ("a batch size set too large",),
      "Lower the batch size for the operation.", None, action=ACTION_FAIL),
    E("XD-QUOTA-006", "Rate-limit backend unavailable",
      "The shared quota store (Redis or the database) could not be reached, so calls are held back "
      "rather than risk exceeding the quota.",
      ("Redis is down", "CROSSDOCK_RATELIMIT_URL points to the wrong server"),
      "Start the backend or fix CROSSDOCK_RATELIMIT_URL.", "crossdock quota", retryable=True),
)
