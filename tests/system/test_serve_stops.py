"""How a `shopcore serve` process stops, and what it leaves behind: granian serves from worker
processes (children of the started one, even with one worker), so a stop must reach them, and
a SIGKILL of the started pid must take them down with it (apps/server.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

STARTED_WITHIN = 60.0  # a start on a loaded 2-core machine


def _env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")},
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def _children(pid: int) -> set[int]:
    return {
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    }


def _descendants(pid: int) -> set[int]:
    found = set()
    pending = [pid]
    while pending:
        for child in _children(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


async def _until(condition: Callable[[], bool], within: float, failure: str) -> None:
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.02)


@asynccontextmanager
async def _running(
    args: list[str], cwd: Path, port: int, ready: str = "/health/ready"
) -> AsyncIterator[asyncio.subprocess.Process]:
    with (cwd / "server.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=cwd, env=_env(), stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + STARTED_WITHIN
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    if (await client.get(f"http://127.0.0.1:{port}{ready}")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, (cwd / "server.log").read_text()
                assert time.monotonic() < deadline, "the server did not come up"
                await asyncio.sleep(0.1)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _exit_code(process: asyncio.subprocess.Process, within: float) -> int:
    async with asyncio.timeout(within):
        return await process.wait()


async def test_sigterm_ends_an_open_stock_stream_and_runs_the_app_shutdown(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["-m", "apps.cli", "serve", "--port", str(port)]
    async with (
        _running(serve, tmp_path, port) as process,
        httpx.AsyncClient(timeout=10) as client,
    ):
        page = (await client.get(f"{base}/v1/products?limit=1")).json()
        sku = page["items"][0]["variants"][0]["sku"]
        async with client.stream("GET", f"{base}/v1/inventory/stream?sku={sku}") as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith("id:")  # the snapshot: the stream is open
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):  # uvicorn's grace before it cut streams
                rest = [line async for line in lines]  # the snapshot's end, then the stream's
            # Its last words tell the client to reconnect (to another instance) soon.
            last = rest[rest.index(": reconnect") :]
            assert last[-2:] == ["retry: 2000", ""], rest
        assert await _exit_code(process, within=15) == 0
    # The app's shutdown closed the database: SQLite removes the write-ahead log when its
    # last connection closes, and leaves it behind a process that was killed.
    assert (tmp_path / "shopcore.db").exists()
    assert not (tmp_path / "shopcore.db-wal").exists(), (tmp_path / "server.log").read_text()


async def test_sigterm_lets_a_request_in_flight_finish_before_the_app_shutdown(
    tmp_path: Path,
) -> None:
    port = free_port()
    journal = tmp_path / "journal"
    slow = ["-m", "tests.system.slow_server", str(port), str(journal)]
    async with _running(slow, tmp_path, port, ready="/") as process:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow"))
            await _until(lambda: "slow begun" in journal.read_text(), 10, "no slow request")
            process.send_signal(signal.SIGTERM)
            response = await answer
        assert (response.status_code, response.text) == (200, "done")
        assert await _exit_code(process, within=15) == 0
    assert journal.read_text().split("\n") == [
        "started",
        "slow begun",
        "slow answered",
        "shutdown",
        "",
    ]


async def test_a_request_stuck_past_the_shutdown_grace_does_not_hold_the_stop(
    tmp_path: Path,
) -> None:
    port = free_port()
    journal = tmp_path / "journal"
    stuck = ["-m", "tests.system.slow_server", str(port), str(journal), "2"]
    async with (
        _running(stuck, tmp_path, port, ready="/") as process,
        httpx.AsyncClient(timeout=30) as client,
    ):
        answer = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/stuck"))
        await _until(lambda: "stuck begun" in journal.read_text(), 10, "no stuck request")
        process.send_signal(signal.SIGTERM)
        stopped_at = asyncio.get_running_loop().time()
        await _exit_code(process, within=15)
        took = asyncio.get_running_loop().time() - stopped_at
        with contextlib.suppress(httpx.HTTPError):
            await answer
    # The grace of 2 s, not the default 30: the worker was killed, its request cut.
    assert 1.5 < took < 12, took
    assert "stuck answered" not in journal.read_text()


async def test_a_sigkilled_serve_takes_its_worker_processes_down(tmp_path: Path) -> None:
    port = free_port()
    serve = ["-m", "apps.cli", "serve", "--port", str(port), "--workers", "2"]
    async with _running(serve, tmp_path, port) as process:
        workers = _children(process.pid)
        assert len(workers) == 2
        tree = _descendants(process.pid)
        process.kill()
        await process.wait()
        await _until(
            lambda: all(_gone(pid) for pid in workers), 5, "a worker outlived its SIGKILLed parent"
        )
        # Every process that could hold the listening socket is gone, so the port is free. (A
        # connection refused said the same, until a server of another test running beside
        # this one happened to be given the freed port and answered.)
        await _until(lambda: all(_gone(pid) for pid in tree), 5, "a descendant outlived serve")


@contextmanager
def _listening(port: int, *, reuse_port: bool) -> Iterator[None]:
    with socket.socket() as sock:
        if reuse_port:  # as a granian worker binds: another one could join it silently
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "so-reuseport"])
def test_a_port_in_use_fails_the_start_with_a_clear_message(
    tmp_path: Path, reuse_port: bool
) -> None:
    port = free_port()
    with _listening(port, reuse_port=reuse_port):
        started = subprocess.run(
            [sys.executable, "-m", "apps.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=STARTED_WITHIN,
        )
    assert started.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in started.stderr
    assert not (tmp_path / "shopcore.db").exists()  # it failed before doing anything
