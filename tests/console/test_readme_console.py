"""The README's "Support console" block runs as written: each line in bash,
in a folder with a configuration, `crossdock serve … &` in the background
(stopped with SIGTERM after), the API answering the token the block made."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow      # eight crossdock processes, one of them a server

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _block() -> list[str]:
    at = README.index("<!-- support-console -->")
    m = re.compile(r"```sh\n(.*?)```", re.S).search(README, at)
    assert m
    return [line for line in m.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_support_console_block_runs_as_written(tmp_path):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8040)) == 0:
            pytest.fail("port 8040 (the README's console port) is taken; stop what listens there")
    (tmp_path / "crossdock.toml").write_text("")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "ADMIN_PASSWORD": "admin password 1", "SUPPORT_PASSWORD": "support password 2"}
    for name in ("CROSSDOCK_CONFIG", "CROSSDOCK_DATABASE_URL"):
        env.pop(name, None)
    background: list[subprocess.Popen[bytes]] = []
    outputs = {}
    try:
        for line in _block():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.endswith("&"):
                background.append(subprocess.Popen(line[:-1], shell=True, cwd=tmp_path, env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True, executable="/bin/bash"))
                deadline = time.monotonic() + 30
                while True:
                    try:
                        httpx.get("http://127.0.0.1:8040/healthz", timeout=2)
                        break
                    except httpx.TransportError:
                        assert background[-1].poll() is None and time.monotonic() < deadline, "serve did not start"
                        time.sleep(0.1)
                continue
            done = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=120, executable="/bin/bash")
            assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stdout + done.stderr
            outputs[line] = done.stdout
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    status = next(out for line, out in outputs.items() if line.startswith("curl"))
    assert "channels" in json.loads(status)
    audit = next(out for line, out in outputs.items() if line == "crossdock audit")
    assert "users.disable" in audit and "alice" in audit
    assert (tmp_path / "sam.token").read_text().startswith("xdt_")
