"""A scrape while a worker process is starting: its sample file exists before
it has a header (prometheus/client_python#1199). The worker's exposition must
still serve every other process's samples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from crossdock.metrics.worker import settled_collector

RECORD = """
from prometheus_client import Counter
Counter("xd_jobs", "jobs done", ["actor"]).labels("push_stock").inc(3)
"""


def _record_in_another_process(folder: Path) -> None:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder))
    subprocess.run([sys.executable, "-c", RECORD], env=env, check=True)


def test_a_sample_file_without_its_header_yet_leaves_the_scrape_whole(tmp_path: Path):
    # Given one process's samples and a second process's file caught between creation and sizing
    _record_in_another_process(tmp_path)
    (tmp_path / "counter_424242.db").write_bytes(b"")
    # prometheus_client's own collector fails the whole scrape on it (the worker answered 500)
    with pytest.raises(Exception):
        generate_latest(_registry(lambda r: MultiProcessCollector(r, path=str(tmp_path))))
    # When the worker's collector is scraped
    body = generate_latest(_registry(lambda r: settled_collector(r, tmp_path))).decode()
    # Then the first process's samples are all there
    samples = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert samples["xd_jobs_total"] == 3.0


def _registry(add) -> CollectorRegistry:
    registry = CollectorRegistry()
    add(registry)
    return registry
