"""``[events]`` of crossdock.toml: events from the platforms (issue 17) —
where they post to, how much of a body is read, and when doctor calls a
channel's events quiet. Declared here rather than in
:mod:`crossdock.config_keys` to keep that module small; it gathers them into
the one schema."""

from __future__ import annotations

from crossdock.config_schema import INT, NUMBER, URL, Key, Table

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_QUIET_AFTER_S", "EVENTS"]

DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_QUIET_AFTER_S = 3600.0

EVENTS = Table("events", "Events from the platforms (Shopify webhooks, eBay notifications) received by "
               "`crossdock serve` at `/hooks/PLATFORM`, or by `crossdock serve --events-only`: each makes "
               "crossdock read the order at once; polling stays the safety net.", (
    Key("public_url", URL, "The public address of `crossdock serve` the platforms post to, without a path "
        "(`crossdock events setup` subscribes `public_url/hooks/PLATFORM`). Required by `crossdock events "
        "setup`.", default=None),
    Key("max_body_bytes", INT, "A delivery's body larger than this is refused unread (XD-EVT-002).",
        default=DEFAULT_MAX_BODY_BYTES, minimum=1024, unit="bytes"),
    Key("quiet_after_s", NUMBER, "Doctor warns (XD-EVT-008) when a channel with events received none for "
        "this long while its order poll found new orders.", default=DEFAULT_QUIET_AFTER_S, minimum=60,
        unit="real seconds"),
), example='[events]\npublic_url = "https://crossdock.example.com"')
