"""A real PgBouncer in transaction mode in front of the machine's PostgreSQL, for the tests that
check the shop works behind one (SHOPCORE_DATABASE_TRANSACTION_POOLER). Started on a spare port
as the `postgres` user (PgBouncer refuses to run as root), with trust authentication as the
test server has, and `server_reset_query_always` so that no session state (a prepared
statement) leaks from one transaction's client to the next."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.ports import free_port

# Server connections per database and user: what the pooled clients share. Small on purpose,
# so that clients really take turns on server connections.
SERVER_CONNECTIONS = 4


def pgbouncer_problem() -> str | None:
    if shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists():
        return "pgbouncer is not installed (apt-get install pgbouncer; make test installs it)"
    return None


class PoolerUnavailable(RuntimeError):
    """PgBouncer is not installed here."""


@contextmanager
def pgbouncer_in_front_of(postgres_url: str) -> Iterator[str]:
    """`postgres_url` as reached through a new PgBouncer in transaction mode; skips (fails
    under CI=true, as a service test) when PgBouncer is not installed."""
    try:
        with pgbouncer(postgres_url) as url:
            yield url
    except PoolerUnavailable as missing:
        pytest.skip(str(missing))


@contextmanager
def pgbouncer(postgres_url: str, server_connections: int = SERVER_CONNECTIONS) -> Iterator[str]:
    """`postgres_url` as reached through a new PgBouncer in transaction mode, which keeps at
    most `server_connections` to the server per database and user (the bench's scale-out run
    uses it outside pytest)."""
    problem = pgbouncer_problem()
    if problem is not None:
        raise PoolerUnavailable(problem)
    target = make_url(postgres_url)
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="shopcore-pgbouncer-"))
    config = root / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={target.host or '127.0.0.1'} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {server_connections}\n"
        "max_client_conn = 500\nserver_reset_query_always = 1\n"
        "ignore_startup_parameters = extra_float_digits,application_name\n"
        f"logfile = {root / 'pgbouncer.log'}\n"
    )
    (root / "users.txt").write_text(f'"{target.username or "postgres"}" ""\n')
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    # As root, the process itself drops to `postgres` (not through runuser, which would stand
    # between the test and PgBouncer: killed, it left PgBouncer running for good).
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(root, user)
        for path in root.iterdir():
            shutil.chown(path, user)
    process = subprocess.Popen(
        [binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        user=user, group=user,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (
                    (root / "pgbouncer.log").read_text()
                    if (root / "pgbouncer.log").exists()
                    else ""
                )
                raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}")
            time.sleep(0.05)
        yield target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.send_signal(signal.SIGTERM)  # SIGINT waits for clients to leave
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
