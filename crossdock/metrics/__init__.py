"""Prometheus metrics.

- :mod:`crossdock.metrics.collector`: the engine's state, read from the
  database at scrape time (:class:`~crossdock.metrics.collector.StateCollector`);
- :mod:`crossdock.metrics.exposition`: one scrape as (body, content type), what
  the web console serves on ``/metrics`` and ``crossdock sync metrics`` prints;
- :mod:`crossdock.metrics.worker`: Dramatiq's own Prometheus middleware in
  ``crossdock worker`` (``[worker] prometheus = true``).

Nothing is imported here: the worker must set prometheus_client's
multiprocess folder before prometheus_client is first imported.
"""

from __future__ import annotations
