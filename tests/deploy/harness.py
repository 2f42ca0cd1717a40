"""What the deployment tests drive: crossdock as an operator runs it.

Everything here starts real processes (``crossdock sandbox serve``,
``crossdock worker``, one-shot ``crossdock`` commands) with a clean
environment, and a TCP :class:`Proxy` that a test can cut and restore to take
a real PostgreSQL or Redis "down" for one worker without stopping the shared
server.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

# Variables of the developer's shell that would change what crossdock reads.
_DROP = ("CROSSDOCK_CONFIG", "CROSSDOCK_DATABASE_URL", "CROSSDOCK_BROKER_URL", "CROSSDOCK_RATELIMIT_URL",
         "CROSSDOCK_SECRET_KEY", "CROSSDOCK_BROKER_NAMESPACE")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def crossdock(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 120,
              input_text: str | None = None) -> subprocess.CompletedProcess:
    """One ``crossdock`` command, as typed in a shell in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "crossdock", *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout_s, input=input_text)


def crossdock_json(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 120) -> Any:
    done = crossdock(*args, "--json", cwd=cwd, env=env, timeout_s=timeout_s)
    assert done.returncode in (0, 4), f"crossdock {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def set_keys(path: Path, section: str, values: dict[str, str]) -> None:
    """Set ``key = literal`` in ``[section]`` of a TOML file as an operator edits
    it: replace the key where it is set, else add it under the header (adding
    the section at the end when the file has none)."""
    import re

    lines = path.read_text(encoding="utf-8").splitlines()
    if f"[{section}]" not in lines:
        lines += ["", f"[{section}]"]
    header = lines.index(f"[{section}]")
    end = next((i for i in range(header + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for key, literal in values.items():
        at = next((i for i in range(header + 1, end) if re.match(rf"{re.escape(key)}\s*=", lines[i])), None)
        if at is None:
            lines.insert(header + 1, f"{key} = {literal}")
            end += 1
        else:
            lines[at] = f"{key} = {literal}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wait_for(what: str, cond: Callable[[], Any], *, timeout_s: float, every_s: float = 0.2,
             info: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{info()}")
        time.sleep(every_s)


class Process:
    """A long-running crossdock command in its own session, output in a file."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "crossdock", *args], cwd=cwd, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_output(self, text: str, *, timeout_s: float) -> str:
        return wait_for(f"{text!r} in the output of crossdock {' '.join(self.args)}",
                        lambda: text in self.output() or (self.proc.poll() is not None and text in self.output()),
                        timeout_s=timeout_s, info=lambda: self.tail())

    def terminate(self, *, timeout_s: float = 30) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took)."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout_s)
        self._log.close()
        return rc, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-n:])


class SandboxProcess:
    """``crossdock sandbox serve --json``: the marketplaces, in their own process."""

    def __init__(self, *, cwd: Path, time_scale: float, seed: int = 1, extra: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crossdock", "sandbox", "serve", "--json", "--time-scale", str(time_scale),
             "--seed", str(seed), *(extra or [])],
            cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("crossdock sandbox serve printed nothing")
        self.desc = json.loads(line)
        self.admin_url = self.desc["admin_url"]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        r = httpx.request(method, self.admin_url + path, json=body, timeout=30)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc.stdout.close()


class Proxy:
    """A TCP forwarder on a loopback port that a test can cut (every
    connection dropped, new ones refused) and restore on the same port: the
    service "goes away" for whoever connects through it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Proxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def cut(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns.clear()

    def url(self, scheme_and_user: str, path: str = "") -> str:
        return f"{scheme_and_user}127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass


def seller_files(folder: Path, stock: dict[str, int]) -> tuple[Path, Path]:
    """A catalogue file and a stock file (for ``warehouse``, filled in by
    :func:`go_live_setup`) as a seller would export them."""
    import csv

    cat_path = folder / "catalogue.csv"
    with open(cat_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sku", "title", "brand", "weight_g", "hs_code", "country_of_origin", "base_price",
                    "base_currency"])
        for sku in stock:
            w.writerow([sku, f"Go-live product {sku}", "Crossdock", 250, "691200", "CN", "19.99", "EUR"])
    return cat_path, folder / "stock.csv"


def go_live_setup(folder: Path, sandbox: SandboxProcess, stock: dict[str, int], *, database_url: str,
                  broker_url: str | None, env: dict[str, str],
                  sections: dict[str, dict[str, str]] | None = None,
                  init_extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a seller types to go live, from a sandbox whose every channel
    lists the whole physical stock: config init --from-sandbox (plus
    ``sections``' keys, as an operator edits the file), db upgrade, config
    check, catalog import, stock import, listings pull. Every listing is
    linked. Returns ``config show``'s document."""
    import csv

    channels = sandbox.admin("GET", "/channels")
    sandbox.admin("POST", "/seed", {
        "catalogue": [{"sku": sku, "title": sku, "price": "19.99", "currency": "EUR", "stock": qty}
                      for sku, qty in stock.items()],
        "listings": {ch: dict(stock) for ch in channels}})
    init = ["config", "init", "--from-sandbox", sandbox.admin_url, "--database", database_url, *init_extra]
    if broker_url:
        init += ["--broker", broker_url]
    done = crossdock(*init, cwd=folder, env=env)
    assert done.returncode == 0, done.stderr
    # workers notice a killed colleague within seconds (sandbox minutes pass quickly here)
    set_keys(folder / "crossdock.toml", "sync", {"heartbeat_s": "1", "worker_dead_after_s": "6"})
    for section, keys in (sections or {}).items():
        set_keys(folder / "crossdock.toml", section, keys)
    assert crossdock("db", "upgrade", cwd=folder, env=env).returncode == 0
    checked = crossdock("config", "check", cwd=folder, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = crossdock_json("config", "show", cwd=folder, env=env)
    [warehouse] = list(shown["warehouses"])
    cat_path, stock_path = seller_files(folder, stock)
    with open(stock_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sku", "warehouse", "on_hand", "reason"])
        for sku, qty in stock.items():
            w.writerow([sku, warehouse, qty, "go-live count"])
    assert crossdock("catalog", "import", str(cat_path), cwd=folder, env=env).returncode == 0
    assert crossdock("stock", "import", str(stock_path), cwd=folder, env=env).returncode == 0
    pulled = crossdock_json("listings", "pull", cwd=folder, env=env)
    names = sorted(shown["channels"])
    assert len(names) == len(channels)
    per_channel = {c["channel"]: c for c in pulled["channels"]}
    assert {n: per_channel[n]["linked"] for n in names} == {n: len(stock) for n in names}, pulled
    return shown


def imported_orders(db_url: str) -> set[str]:
    """Platform order ids in crossdock's database."""
    from sqlalchemy import select

    from crossdock.db.engine import Database
    from crossdock.db.models import Order

    db = Database(db_url)
    try:
        with db.read() as s:
            return set(s.scalars(select(Order.platform_order_id)))
    finally:
        db.dispose()


def listed_total(sandbox: SandboxProcess) -> int:
    """Units every channel of the sandbox lists, together."""
    return sum(q for ch in sandbox.admin("GET", "/channels").values() for q in ch["listed"].values())


def start_workers(folder: Path, env: dict[str, str], count: int, *, tag: str = "", threads: int = 3,
                  timeout_s: float = 60) -> list[Process]:
    """``count`` ``crossdock worker`` processes started in ``folder``, each
    waited for until it printed its banner; logs ``worker-[TAG-]N.log``."""
    prefix = f"worker-{tag}-" if tag else "worker-"
    started = [Process(["worker", "--threads", str(threads)], cwd=folder, env=env,
                       log_path=folder / f"{prefix}{i + 1}.log") for i in range(count)]
    for p in started:
        p.wait_output("crossdock worker", timeout_s=timeout_s)
    return started


def log_tails(procs: list[Process], n: int = 30) -> str:
    """The last ``n`` lines of each process's log, for a failed wait's message."""
    return "".join(f"\n--- {p.log_path.name} ---\n{p.tail(n)}" for p in procs)


def oversell_story(history: dict[str, Any], *, limit: int = 40) -> str:
    """The sandbox's record of one SKU (``/history``) as a timeline for a failure message: each
    channel's listed quantity, sales and cancels, in sandbox seconds, the last ``limit`` lines
    up to the moment more was sold than there was."""
    rows: list[tuple[float, str]] = []
    for channel, changes in history.get("listed", {}).items():
        rows.extend((float(at), f"{channel} lists {qty}") for at, qty in changes)
    rows.extend((float(s["at"]), f"{s['channel']} sells {s['qty']} ({s.get('order_id')})")
                for s in history.get("sales", []))
    rows.extend((float(c["at"]), f"{c['channel']} cancel +{c['qty']} ({c.get('order_id')})")
                for c in history.get("cancels", []))
    rows.sort()
    if not rows:
        return "(no record)"
    start = rows[0][0]
    lines = [f"  +{at - start:8.1f}s {what}" for at, what in rows]
    return f"{history.get('sku')}:\n" + "\n".join(lines[-limit:])
