"""`shopcore serve` on a fresh directory: no set-up, an embedded database created and
migrated on first start, a demo catalog, and the API answering."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status), response.read()


def test_serve_starts_on_sqlite_with_no_set_up(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health/ready")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the API did not come up within 60 s"
                time.sleep(0.2)
        assert status == 200
        assert json.loads(body) == {"status": "ok", "checks": {"database": "ok"}}
        status, body = _get(f"http://127.0.0.1:{port}/v1/products")
        assert status == 200
        assert {item["slug"] for item in json.loads(body)["items"]} >= {"linen-shirt"}
        assert (tmp_path / "shopcore.db").exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert f"http://127.0.0.1:{port}/docs" in output
