"""A PostgreSQL primary and a streaming standby of their own, started on spare ports as the
`postgres` user (`initdb`, then `pg_basebackup -R`): for the read-replica test and for the
bench's scale-out run (`bench/scale_out.py`). The machine's own cluster cannot serve: its
`pg_hba.conf` admits no replication connection, and a test must not edit the system's files.

`fsync=off`: the pair lives for one run, and its durability is not what is measured."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class PairUnavailable(RuntimeError):
    """This machine cannot start a primary and a standby (no server binaries)."""


@dataclass(frozen=True)
class Pair:
    primary: str  # SQLAlchemy URLs, to the database `postgres`
    standby: str
    primary_port: int
    standby_port: int
    standby_dir: Path

    def stop_standby(self) -> None:
        as_postgres(f"{BIN}/pg_ctl", "-D", str(self.standby_dir), "-m", "fast", "stop")


def pair_problem() -> str | None:
    if BIN is None:
        return "no PostgreSQL server binaries here to start a primary and a standby"
    return None


def as_postgres(*command: str) -> None:
    """Run a PostgreSQL tool as `postgres` (the server refuses root)."""
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*runner, *command], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")


@contextmanager
def primary_and_standby(*server_options: str) -> Iterator[Pair]:
    """A running primary and its hot standby; both stopped and deleted on leaving.
    `server_options` are passed to both servers (`-c name=value`)."""
    problem = pair_problem()
    if problem is not None:
        raise PairUnavailable(problem)
    # Not under a root-owned temporary directory: the postgres user may not enter those.
    root = Path(tempfile.mkdtemp(prefix="shopcore-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary_dir, standby_dir = root / "primary", root / "standby"
    primary_port, standby_port = free_port(), free_port()
    options = " ".join((f"-c listen_addresses=127.0.0.1 -k {root} -c fsync=off", *server_options))
    as_postgres(f"{BIN}/initdb", "-D", str(primary_dir), "-U", "postgres", "--auth=trust")
    started: list[Path] = []
    try:
        as_postgres(
            f"{BIN}/pg_ctl", "-D", str(primary_dir), "-w", "-l", str(root / "primary.log"),
            "-o", f"-p {primary_port} {options} -c wal_level=replica", "start",
        )  # fmt: skip
        started.append(primary_dir)
        as_postgres(
            f"{BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U",
            "postgres", "-D", str(standby_dir), "-R", "-X", "stream",
        )  # fmt: skip
        as_postgres(
            f"{BIN}/pg_ctl", "-D", str(standby_dir), "-w", "-l", str(root / "standby.log"),
            "-o", f"-p {standby_port} {options} -c hot_standby=on", "start",
        )  # fmt: skip
        started.append(standby_dir)
        yield Pair(
            primary=f"postgresql+asyncpg://postgres@127.0.0.1:{primary_port}/postgres",
            standby=f"postgresql+asyncpg://postgres@127.0.0.1:{standby_port}/postgres",
            primary_port=primary_port,
            standby_port=standby_port,
            standby_dir=standby_dir,
        )
    finally:
        for directory in reversed(started):
            if (directory / "postmaster.pid").exists():
                as_postgres(f"{BIN}/pg_ctl", "-D", str(directory), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
