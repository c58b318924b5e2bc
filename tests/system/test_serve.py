"""`shopcore serve` on a fresh directory: no set-up, an embedded database created and
migrated on first start, a demo catalog, and the API answering."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.ports import free_port


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status), response.read()


def test_serve_starts_on_sqlite_with_no_set_up(tmp_path: Path) -> None:
    port = free_port()
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


def _call(
    method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return int(response.status), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_new_user_registers_buys_with_tok_visa_and_sees_the_order(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/health/ready")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        status, docs = _get(f"{base}/docs")
        assert status == 200 and b"<html" in docs.lower()

        email, password = "grace@example.com", "a long enough passphrase"
        credentials = {"email": email, "password": password}
        assert _call("POST", f"{base}/v1/customers", credentials)[0] == 201
        status, tokens = _call("POST", f"{base}/v1/auth/token", credentials)
        assert status == 200
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        _, page = _call("GET", f"{base}/v1/products?limit=100")
        shirt = next(item for item in page["items"] if item["slug"] == "linen-shirt")
        sku = shirt["variants"][0]["sku"]
        status, cart = _call("POST", f"{base}/v1/carts", {}, auth)
        assert status in (200, 201)
        line = {"sku": sku, "quantity": 2}
        assert _call("POST", f"{base}/v1/carts/{cart['id']}/items", line, auth)[0] in (200, 201)
        address = {
            "name": "Grace Hopper",
            "line1": "1 Main Street",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        }
        checkout = {"cart_id": cart["id"], "shipping_address": address, "payment_token": "tok_visa"}
        status, order = _call(
            "POST", f"{base}/v1/checkout", checkout, {**auth, "Idempotency-Key": "journey-1"}
        )
        assert status == 201, order
        assert order["status"] == "confirmed"
        status, orders = _call("GET", f"{base}/v1/orders", None, auth)
        assert status == 200
        assert [item["id"] for item in orders["items"]] == [order["id"]]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
