"""The XD-NET codes: network and platform availability."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-NET-001", "Platform unreachable",
      "The connection to the platform failed (DNS, refused, reset).",
      ("no network", "a firewall or proxy", "the base URL points to a sandbox that is not running"),
      "Check connectivity and the channel's base URL; the job retries with back-off.",
      None, retryable=True),
    E("XD-NET-002", "Platform timed out",
      "The platform did not answer within the timeout.",
      ("platform slowness", "a large page size"),
      "None if occasional; the job retries with back-off.", None, retryable=True),
    E("XD-NET-003", "Platform server error",
      "The platform answered 5xx. The response is treated as an error, never as an empty result.",
      ("platform outage or maintenance",),
      "None if occasional; the job retries with back-off. If it persists, check the platform's status page.",
      None, retryable=True),
    E("XD-NET-004", "Unreadable response",
      "The platform answered with a body that is not what the API promises (HTML instead of JSON, "
      "malformed JSON or XML). It is treated as an error, never as an empty result.",
      ("a proxy or maintenance page", "a truncated response"),
      "None if occasional; the job retries. Capture the payload with the sync log if it persists.",
      None, retryable=True),
)
