"""Every shell block of the README, run as a reader would run it after `make run`.

Blocks run with bash in a fresh directory, `.venv/bin/` pointing at this checkout's venv. The
only changes are where the README names places this machine does not have: the PostgreSQL and
Redis hosts (the test's own database and Redis), the port (a free one), and the SMTP server (a
mail file the test reads). Two blocks are not run here, each for its reason: `make run` /
`make test` (they are what runs this suite) and `make check` (the suite's inner loop)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import drop_postgres, require_postgres, scratch_postgres
from tests.support.ports import free_port
from tests.support.redis import require_redis, unique_prefix

README = Path(__file__).resolve().parents[2] / "README.md"
VENV_BIN = Path(sys.executable).parent
NOT_RUN = ("make run", "make check")  # the blocks that run this suite itself
README_POSTGRES = "postgresql+asyncpg://shop@db.internal:5432/shop"
README_REDIS = "redis://cache.internal:6379/0"
README_SMTP = re.compile(r"^export SHOPCORE_SMTP_URL=.*$", flags=re.M)


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)


def block(marker: str) -> str:
    (found,) = [each for each in blocks() if marker in each]
    return found


def test_every_block_is_run_by_this_module_or_left_out_with_its_reason() -> None:
    markers = ("shopcore demo", "TOKEN=$(", "create-staff --email", "db upgrade", "shopcore worker")
    stream = "inventory/stream"
    for each in blocks():
        covered = [m for m in (*markers, stream, *NOT_RUN) if m in each]
        assert covered, f"a README block no test runs:\n{each}"


def as_here(text: str, *, port: int, postgres: str = "", redis: str = "", mail: str = "") -> str:
    text = text.replace(".venv/bin/", f"{VENV_BIN}/")
    text = text.replace("localhost:8000", f"localhost:{port}")
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    text = text.replace("--host 0.0.0.0 --port 8000", f"--host 127.0.0.1 --port {port}")
    if postgres:
        text = text.replace(README_POSTGRES, postgres)
    if redis:
        text = text.replace(README_REDIS, redis)
    if mail:
        text = README_SMTP.sub(f"export SHOPCORE_MAIL_FILE={mail}", text)
    return text


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")}
    return {**env, **extra}


def run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def running(script: str, cwd: Path, env: dict[str, str], port: int) -> Iterator[None]:
    """A block that serves until stopped, ready on `port`."""
    process = subprocess.Popen(
        ["bash", "-eu", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not ready(port):
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"the block stopped:\n{output}")
            assert time.monotonic() < deadline, "the API did not become ready within 90 s"
            time.sleep(0.3)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def try_the_api(cwd: Path, env: dict[str, str], port: int, who: str = "grace") -> list[Any]:
    """The "Try the API" block; its checkout must confirm an order the orders list shows."""
    script = as_here(block("TOKEN=$("), port=port).replace("grace@", f"{who}@")
    script = script.replace("first-order", f"{who}-order")
    done = run(script, cwd, env)
    assert done.returncode == 0, done.stderr
    answers = documents(done.stdout)  # curl prints each answer with no newline after it
    order, orders = answers[-2], answers[-1]
    assert order["status"] == "confirmed", order
    assert order["id"] in [each["id"] for each in orders["items"]]
    return answers


def documents(text: str) -> list[Any]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def stream(cwd: Path, env: dict[str, str], port: int) -> None:
    done = run(as_here(block("inventory/stream"), port=port), cwd, env)
    assert done.returncode == 28, done.stderr  # curl's own code for --max-time
    assert "event: snapshot" in done.stdout and "SHIRT-LINEN-M" in done.stdout


def test_the_quick_start_blocks_work_on_the_embedded_database(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env()
    demo = run(as_here(block("shopcore demo"), port=port), tmp_path, env)
    assert demo.returncode == 0, demo.stderr
    assert "confirmed" in demo.stdout and "Commands:" in demo.stdout

    serve = f"{VENV_BIN}/shopcore serve --port {port}"  # what `make run` runs
    with running(serve, tmp_path, env, port):
        try_the_api(tmp_path, env, port)
        stream(tmp_path, env, port)
        staff = run(as_here(block("create-staff --email"), port=port), tmp_path, env)
        assert staff.returncode == 0, staff.stderr
        assert "staff account staff@example.com is ready" in staff.stdout


@pytest.mark.postgres
@pytest.mark.redis
def test_the_postgresql_and_worker_blocks_work_on_this_machines_services(tmp_path: Path) -> None:
    require_postgres()
    redis = require_redis()
    database = scratch_postgres()
    port = free_port()
    prefix = unique_prefix()
    env = clean_env(
        PORT=str(port),
        SHOPCORE_REDIS_NAMESPACE=prefix,
        SHOPCORE_EVENTS_STREAM=f"{prefix}:events",
    )
    mail = tmp_path / "mail.jsonl"

    def here(text: str) -> str:
        return as_here(text, port=port, postgres=database, redis=redis, mail=str(mail))

    try:
        # The scratch database is migrated already: `db upgrade` finds nothing to do.
        with running(here(block("db upgrade")), tmp_path, env, port):
            try_the_api(tmp_path, env, port)
            stream(tmp_path, env, port)
        with running(here(block("shopcore worker")), tmp_path, env, port):
            try_the_api(tmp_path, env, port, who="hopper")
            deadline = time.monotonic() + 60
            while "hopper@example.com" not in (mail.read_text() if mail.exists() else ""):
                assert time.monotonic() < deadline, "the worker sent no confirmation email"
                time.sleep(0.3)
    finally:
        drop_postgres(database)
