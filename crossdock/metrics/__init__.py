"""Prometheus metrics of crossdock's state, read from the database at scrape
time (:mod:`crossdock.metrics.collector`), and the exposition the web console
serves on ``/metrics`` and ``crossdock sync metrics`` prints
(:func:`crossdock.metrics.exposition.exposition`)."""

from __future__ import annotations

from crossdock.metrics.collector import StateCollector
from crossdock.metrics.exposition import exposition, write_textfile

__all__ = ["StateCollector", "exposition", "write_textfile"]
