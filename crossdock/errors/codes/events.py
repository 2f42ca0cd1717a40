"""The XD-EVT codes: events the platforms send (Shopify webhooks, eBay
notifications, Amazon SP-API notifications) and their subscriptions."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-EVT-001", "Event refused: signature does not match",
      "A delivery to /hooks/KIND carried no signature or one that does not match its body with the channel's "
      "key. It was refused (401), logged and recorded; nothing was read or changed.",
      ("a forged or altered delivery", "the channel's client secret (Shopify) was rotated on the platform but "
       "not in crossdock", "a proxy in front of crossdock changed the body"),
      "If the deliveries are genuine, store the channel's current secret (crossdock auth set); "
      "`crossdock events status` counts the refusals.", "crossdock events status"),
    E("XD-EVT-002", "Event refused: body too large",
      "The delivery's body was larger than [events] max_body_bytes; reading stopped at the cap and it was "
      "refused (413) without being parsed.",
      ("a forged delivery meant to exhaust memory", "a cap set below the platform's largest payload"),
      "Genuine platform events are far below the default cap (1 MB); raise the cap only if the platform "
      "documents larger payloads.", "crossdock config reference"),
    E("XD-EVT-003", "Event for no configured channel",
      "The delivery names a shop, endpoint or destination that no configured channel of that platform has; "
      "it was refused (404 for unknown channels, nothing read).",
      ("a subscription left behind by a channel removed from the configuration",
       "a shop domain or endpoint that differs from the channel's account / [events] public_url"),
      "Run `crossdock events setup CHANNEL` for the channel, or delete the stale subscription on the "
      "platform.", "crossdock events status"),
    E("XD-EVT-004", "Event unreadable",
      "The delivery's signature was good but it lacks what crossdock needs (a delivery id, a topic, an order "
      "id) or is not JSON; it was refused (400) and recorded.",
      ("a topic crossdock does not subscribe to", "a platform payload format crossdock does not know yet"),
      "Check the topic in `crossdock logs --code XD-EVT-004`; polling still imports the orders.",
      "crossdock logs --code XD-EVT-004"),
    E("XD-EVT-005", "No receiver for this kind of event",
      "A delivery was posted to /hooks/KIND where KIND is no configured platform's receiver (404).",
      ("a wrong URL in the platform's subscription", "the channel's platform has no channel configured"),
      "Point the subscription at /hooks/PLATFORM (crossdock events setup CHANNEL does).",
      "crossdock events setup CHANNEL"),
    E("XD-EVT-006", "Event delivered again (duplicate)",
      "A delivery with an id already received for the channel came again; it was acknowledged and recorded "
      "as a duplicate and caused nothing (platforms retry deliveries; a replay is harmless).",
      ("the platform retried a delivery it did not see acknowledged", "a replayed delivery"),
      "None.", None),
    E("XD-EVT-007", "Event signature key unavailable",
      "The key a delivery is signed with (eBay: the public key named by the signature's kid) could not be "
      "fetched from the platform, so the delivery could not be checked; it was refused with 503 so the "
      "platform delivers it again.",
      ("the platform's key endpoint is down or throttled", "the channel's application credentials fail"),
      "Nothing is lost: the platform retries and polling imports the orders. Check `crossdock doctor`.",
      "crossdock doctor", retryable=True),
    E("XD-EVT-008", "Events went quiet while polling finds orders",
      "The channel's event subscription delivered nothing for a while, yet the order poll kept finding new "
      "orders: sales reach the other channels at polling speed, not in seconds.",
      ("the subscription was disabled or deleted on the platform", "the public URL no longer reaches "
       "`crossdock serve`", "deliveries are refused (see XD-EVT-001/003)"),
      "Check `crossdock events status`, then run `crossdock events setup CHANNEL` again.",
      "crossdock events status"),
    E("XD-EVT-009", "Events not set up",
      "`crossdock events setup` needs [events] public_url (the address the platforms post to) and a channel "
      "whose platform takes event subscriptions.",
      ("[events] public_url missing or not https in production", "a platform without an events receiver"),
      "Set [events] public_url to the public address of `crossdock serve`, then run the setup again.",
      "crossdock config reference"),
    E("XD-EVT-010", "Order named by an event not readable",
      "A targeted read of an order named by an event found no such order (or one the connector cannot map); "
      "the event is dropped, nothing was changed. A forged or stale event ends here.",
      ("a forged event naming a made-up order", "an order the app may not read (older than the platform "
       "shows)"),
      "None when the event was forged; otherwise polling imports the order.", "crossdock logs --code XD-EVT-010"),
    # 020–029: events read from a message queue (Amazon's SP-API notifications on SQS, crossdock worker)
    E("XD-EVT-011", "Event queue cannot be read",
      "`crossdock worker` could not receive from a channel's event queue (options.events_queue_url): the queue "
      "or the credentials were refused, or the endpoint did not answer. It tries again with a growing pause; "
      "meanwhile orders arrive by polling only.",
      ("a wrong events_queue_url or events_region", "the channel's aws_access_key_id / aws_secret_access_key "
       "(or the instance role) lack sqs:ReceiveMessage and sqs:DeleteMessage on the queue",
       "the queue was deleted", "no network route to SQS"),
      "Check the queue URL and the key's permissions; `crossdock doctor` and the worker log name the AWS error.",
      "crossdock doctor", retryable=True),
    E("XD-EVT-012", "Event queue has no dead-letter queue",
      "The channel's event queue has no redrive policy, so a message crossdock cannot read would come back "
      "for ever: such messages are recorded (XD-EVT-003/004) and deleted instead of dead-lettered.",
      ("the queue was created without a redrive policy",),
      "Give the queue a dead-letter queue (RedrivePolicy with maxReceiveCount 3–5) so unreadable messages are "
      "kept for inspection.", None),
)
