"""The HTTP server ``crossdock serve`` runs its app on: uvicorn's, stopped as
the worker is stopped."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn

__all__ = ["Server"]


class Server(uvicorn.Server):
    """uvicorn's server, stopped by SIGTERM or Ctrl-C as ``crossdock worker``
    is: it finishes the requests in flight and the command exits 0. (uvicorn
    re-raises the signal after its graceful shutdown, so a service manager or
    a script saw a process killed by a signal, not one that stopped.)"""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
