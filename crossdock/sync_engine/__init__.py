"""The sync engine: what to do, when, and exactly once. Database and pure logic;
the Dramatiq actors that call the platforms sit on top.

- :mod:`.inventory` — reservations (reserve on import, release on cancel,
  consume on ship), stock adjustments, available to sell;
- :mod:`.orders` — storing imported orders in bulk (dedupe, status changes, stock effects);
- :mod:`.dirty` — coalescing stock pushes per (channel, SKU);
- :mod:`.planner` — pure: what to push, zeros first, in the fewest calls;
- :mod:`.outbox` — the transactional outbox (durable work, leases, retries, failed list, relay);
- :mod:`.scheduler` — recurring jobs with compare-and-set claims;
- :mod:`.cursors` — incremental import cursors and windows;
- :mod:`.stuck` — orders stuck in a status or past their handling time.
"""
