"""The XD-SYNC codes: sync engine, jobs and scheduling."""

from __future__ import annotations

from crossdock.errors.spec import ErrorSpec as E

ENTRIES: tuple[E, ...] = (
    E("XD-SYNC-001", "Job failed after retries",
      "A sync job used up its retries. It stays in the failed list and can be replayed.",
      ("a persistent platform or data error (see the cause's code)",),
      "Fix the cause shown, then replay the job.", "crossdock jobs retry ID"),
    E("XD-SYNC-002", "Channel paused",
      "The channel is paused after an authorisation failure; its jobs wait until it is resumed. A run it "
      "shares with other channels (one order poll for Amazon marketplaces of one seller) goes on for them.",
      ("see the XD-AUTH code that paused it",),
      "Fix the authorisation: `crossdock auth set` stores new credentials and resumes the channel; after a "
      "successful `crossdock auth refresh` the channel is tried again by itself.", "crossdock auth status"),
    E("XD-SYNC-003", "Job skipped: already done",
      "A job with the same idempotency key already completed; it was not repeated.",
      ("a duplicate wake-up message (harmless)",),
      "None.", None),
    E("XD-SYNC-004", "Scheduler behind",
      "Scheduled runs are later than their interval.",
      ("no worker running", "workers overloaded"),
      "Start workers or reduce the job frequency.", "crossdock worker"),
    E("XD-SYNC-005", "Outbox backlog",
      "Outbox entries have been waiting longer than the threshold.",
      ("no worker running", "broker unreachable"),
      "Start workers; check CROSSDOCK_BROKER_URL.", "crossdock sync status"),
    E("XD-SYNC-006", "Broker unreachable",
      "The message broker could not be reached; work is kept in the outbox and sent when it returns.",
      ("Redis or RabbitMQ down", "wrong CROSSDOCK_BROKER_URL"),
      "Start the broker or fix CROSSDOCK_BROKER_URL.", None, retryable=True),
    E("XD-SYNC-007", "Worker stopped sending heartbeats",
      "A `crossdock worker` process stopped writing its heartbeat; another worker declared it dead and "
      "handed the jobs and stock pushes it held back to the queue, where the live workers take them.",
      ("the process was killed, crashed or its machine went down", "the process was frozen (stopped, "
       "swapped out) longer than [sync] worker_dead_after_s", "it lost its database connection"),
      "Nothing is lost. Restart the worker (or find why it died in its own log); `crossdock sync status` "
      "lists the live workers.", "crossdock sync status"),
    E("XD-SYNC-008", "No worker running",
      "No `crossdock worker` has sent a heartbeat recently: schedules do not fire and queued jobs wait.",
      ("no worker was started", "every worker stopped or lost its database connection"),
      "Start a worker with the same configuration.", "crossdock worker"),
    E("XD-SYNC-009", "Channel paused by a person",
      "An operator paused the channel (console, API, crossdock auth pause): its jobs wait, nothing is imported or pushed for it, "
      "the other channels run. It stays paused until someone resumes it.",
      ("maintenance on the platform account", "an operator stopped it while a problem is looked into"),
      "Resume the channel when the reason is gone (the console's Channels page, or the command below); "
      "the audit log says who paused it and why.",
      "crossdock auth resume CHANNEL"),
)
