"""Dramatiq's own Prometheus middleware in ``crossdock worker`` (``[worker]
prometheus = true``).

``dramatiq.middleware.prometheus.Prometheus`` is written for Dramatiq's CLI,
and three of its assumptions do not hold in crossdock's worker, which runs
Dramatiq's ``Worker`` inside its own process (:class:`crossdock.runtime.InProcessWorker`):

- It reads its folder, host and port from ``dramatiq_prom_db``,
  ``dramatiq_prom_host`` and ``dramatiq_prom_port`` **when the module is
  imported** (default ``0.0.0.0:9191``, every interface). :meth:`WorkerPrometheus.prepare`
  sets them from ``[worker]`` before it is imported: loopback unless told.
- Its metrics are prometheus_client's **multiprocess** ones: each process
  writes its samples to files in that folder and the exposition adds them up.
  prometheus_client picks file-backed values from ``PROMETHEUS_MULTIPROC_DIR``
  when it is first imported; :meth:`~WorkerPrometheus.prepare` sets it and,
  should prometheus_client already be loaded, picks again.
- Dramatiq's CLI empties the folder before it forks and runs the middleware's
  ``forks`` (the HTTP exposition server) as a process of its own. crossdock's
  worker never runs ``forks``: the process that starts the group — a single
  worker, or the supervisor of ``--processes N`` — empties the folder
  (:meth:`~WorkerPrometheus.reset`) and serves the exposition itself on a
  thread (:meth:`~WorkerPrometheus.serve`): the same ``MultiProcessCollector``
  registry Dramatiq's handler builds. The children it starts only record.

The rest is Dramatiq's as it is: the metrics are set up on ``process_boot``
(which ``InProcessWorker.start`` emits), updated by the message hooks, and a
stopping worker marks its process dead (``worker_shutdown``), so the
in-progress gauges drop it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossdock.config_keys_worker import DEFAULT_PROMETHEUS_HOST, DEFAULT_PROMETHEUS_PORT
from crossdock.errors import ConfigError

__all__ = ["WorkerPrometheus"]

#: prometheus_client's multiprocess files: ``<type>_<pid>.db`` (gauges ``gauge_<mode>_<pid>.db``)
_SAMPLE_FILES = ("counter_", "gauge_", "histogram_", "summary_")


def _default_dir(cfg: Any) -> Path:
    """One folder per configuration (two installations on one machine must not
    empty each other's files), private to this user."""
    where = str(Path(cfg.path).resolve()) if getattr(cfg, "path", None) else cfg.database_url
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"crossdock-prometheus-{os.getuid()}-{digest}"


@dataclass(frozen=True, slots=True)
class WorkerPrometheus:
    """Where the worker group's Dramatiq metrics are written and served."""

    directory: Path
    host: str = DEFAULT_PROMETHEUS_HOST
    port: int = DEFAULT_PROMETHEUS_PORT

    @classmethod
    def from_config(cls, cfg: Any) -> WorkerPrometheus | None:
        """From ``[worker]``; None unless ``prometheus = true``."""
        section = getattr(cfg, "worker", None) or {}
        if not section.get("prometheus"):
            return None
        folder = section.get("prometheus_dir")
        return cls(directory=Path(folder) if folder else _default_dir(cfg),
                   host=str(section.get("prometheus_host") or DEFAULT_PROMETHEUS_HOST),
                   port=int(section.get("prometheus_port") or DEFAULT_PROMETHEUS_PORT))

    def environ(self) -> dict[str, str]:
        """The variables Dramatiq's middleware and prometheus_client read."""
        folder = str(self.directory)
        return {"PROMETHEUS_MULTIPROC_DIR": folder, "prometheus_multiproc_dir": folder,
                "dramatiq_prom_db": folder, "dramatiq_prom_host": self.host, "dramatiq_prom_port": str(self.port)}

    def prepare(self) -> None:
        """Make this process record into :attr:`directory`: before Dramatiq's
        middleware or any metric is made (the worker command's first step)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.update(self.environ())
        values = sys.modules.get("prometheus_client.values")
        if values is not None:       # loaded before the variable was set: choose file-backed values now
            values.ValueClass = values.get_value_class()    # type: ignore[attr-defined]  # a module object from sys.modules
        module = sys.modules.get("dramatiq.middleware.prometheus")
        if module is not None:       # its folder, host and port are read at import
            importlib.reload(module)

    def reset(self) -> None:
        """Remove an earlier run's sample files from :attr:`directory` (Dramatiq's
        CLI empties the folder before it forks). Only prometheus_client's own
        files (``counter_*.db``, ``gauge_*.db``, …) go: ``prometheus_dir`` may
        name a folder that holds something else too."""
        for entry in self.directory.iterdir():
            if entry.is_file() and entry.suffix == ".db" and entry.name.startswith(_SAMPLE_FILES):
                entry.unlink()

    def serve(self) -> Any:
        """Serve every process's samples on ``host:port`` from a daemon thread;
        returns the server (``shutdown()`` stops it). A port that cannot be
        bound is XD-CFG-003 naming the key."""
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        settled_collector(registry, self.directory)
        try:
            server, _ = start_http_server(self.port, addr=self.host, registry=registry)
        except OSError as exc:
            raise ConfigError("XD-CFG-003", detail=f"[worker] prometheus_host:prometheus_port "
                                                   f"{self.host}:{self.port}: cannot listen there: {exc}") from exc
        return server

    def middleware(self) -> Any:
        """Dramatiq's ``Prometheus`` middleware, for the worker's broker (after :meth:`prepare`)."""
        from dramatiq.middleware.prometheus import Prometheus

        return Prometheus()


def settled_collector(registry: Any, directory: Path) -> Any:
    """prometheus_client's ``MultiProcessCollector`` over ``directory``, minus
    sample files too short to hold their header. A process starting up creates
    its file before sizing it, and ``MultiProcessCollector`` fails the whole
    scrape on such a file (prometheus/client_python#1199, fix pending in
    #1207): a scrape at that instant answered 500 for every process's samples.
    A file with no header has nothing recorded yet, so leaving it out loses no
    sample; a longer damaged file still fails, as upstream decides."""
    from prometheus_client.multiprocess import MultiProcessCollector

    class Settled(MultiProcessCollector):
        def collect(self) -> Any:
            files = []
            for path in directory.glob("*.db"):
                try:
                    if path.stat().st_size >= _HEADER_BYTES:
                        files.append(str(path))
                except FileNotFoundError:    # removed between the listing and the look
                    continue
            return self.merge(files, accumulate=True)

    return Settled(registry, path=str(directory))


#: mmap_dict's header: the used-bytes integer and padding (prometheus_client.mmap_dict).
_HEADER_BYTES = 8
