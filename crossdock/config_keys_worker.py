"""``[worker]`` of crossdock.toml: what a ``crossdock worker`` process offers
besides the engine — Dramatiq's own Prometheus metrics
(:mod:`crossdock.metrics.worker`). Declared here rather than in
:mod:`crossdock.config_keys` to keep that module small; it gathers them into
the one schema."""

from __future__ import annotations

from crossdock.config_schema import BOOL, INT, TEXT, Key, Table, relative_path

__all__ = ["DEFAULT_PROMETHEUS_HOST", "DEFAULT_PROMETHEUS_PORT", "WORKER"]

DEFAULT_PROMETHEUS_HOST = "127.0.0.1"
DEFAULT_PROMETHEUS_PORT = 9191          # Dramatiq's own default

WORKER = Table("worker", "`crossdock worker` processes. With `prometheus = true` each worker records Dramatiq's "
               "message metrics (`dramatiq_messages_total`, `dramatiq_message_errors_total`, "
               "`dramatiq_message_duration_milliseconds`, …) and the worker, or the supervisor of "
               "`--processes N`, serves them for every process of the group on `prometheus_host:prometheus_port`. "
               "The engine's state (import lag, backlog, quota, …) is `crossdock sync metrics` and the web "
               "console's `/metrics`.", (
    Key("prometheus", BOOL, "Record and serve Dramatiq's Prometheus metrics.", default=False),
    Key("prometheus_host", TEXT, "Address the metrics are served on (loopback unless a scraper on another "
        "machine needs them).", default=DEFAULT_PROMETHEUS_HOST),
    Key("prometheus_port", INT, "Port the metrics are served on.", default=DEFAULT_PROMETHEUS_PORT, minimum=1,
        maximum=65535),
    Key("prometheus_dir", TEXT, "Folder where each worker process writes its samples (prometheus_client's "
        "multiprocess files), relative to this file's folder; emptied when the worker group starts. Default: "
        "a folder of this configuration's own under the system's temporary folder.", default=None,
        check=relative_path),
), example='[worker]\nprometheus = true\nprometheus_port = 9191')
