"""CPU per request, read from /proc: the process tree of a server and its ticks."""

from __future__ import annotations

import os
from pathlib import Path

from bench.cpu import (
    Stat,
    database_seconds,
    descendants,
    ms_per,
    parse_stat,
    postmaster,
    tree_ticks,
)


def stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int = 0) -> str:
    # The fields of proc(5) up to cstime (17), then a few more as the kernel prints them.
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 5012 0 0 0 "
        f"{utime} {stime} {cutime} 0 20 0 3 0 1234 56789 123 18446744073709551615"
    )


def test_ticks_are_user_and_system_time_of_the_process_and_of_its_reaped_children() -> None:
    found = parse_stat(stat_line(4321, "python", 4000, utime=150, stime=30, cutime=7))

    assert found == Stat(ppid=4000, ticks=187, comm="python")


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    found = parse_stat(stat_line(4321, "granian (worker) 1", 4000, utime=10, stime=2))

    assert found == Stat(ppid=4000, ticks=12, comm="granian (worker) 1")


def test_this_processs_own_stat_names_its_parent() -> None:
    found = parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())

    assert found.ppid == os.getppid()


def test_a_servers_ticks_include_every_process_below_it_and_nothing_beside_it() -> None:
    stats = {
        100: Stat(ppid=1, ticks=5),  # `granian`, the process the bench started
        101: Stat(ppid=100, ticks=900),  # its worker, serving
        102: Stat(ppid=101, ticks=40),  # a child of the worker
        200: Stat(ppid=1, ticks=7000),  # PostgreSQL, beside it
        201: Stat(ppid=200, ticks=300),
    }

    assert descendants(100, stats) == {100, 101, 102}
    assert tree_ticks(100, stats) == 945


def test_a_server_that_has_exited_has_no_ticks_left_to_read() -> None:
    assert tree_ticks(100, {200: Stat(ppid=1, ticks=7000)}) == 0


def test_cpu_per_request_is_in_milliseconds_and_missing_when_nothing_was_answered() -> None:
    assert ms_per(10.0, 12.5, 1000) == 2.5
    assert ms_per(10.0, 12.5, 0) is None


def test_the_database_server_is_the_postgres_process_whose_parent_is_not_one() -> None:
    stats = {
        1: Stat(ppid=0, ticks=1, comm="init"),
        90: Stat(ppid=1, ticks=2, comm="pg_ctl"),
        200: Stat(ppid=1, ticks=7000, comm="postgres"),  # the postmaster
        201: Stat(ppid=200, ticks=300, comm="postgres"),  # a backend
        202: Stat(ppid=200, ticks=50, comm="postgres"),  # the WAL writer
        300: Stat(ppid=1, ticks=900, comm="python"),
    }

    assert postmaster(stats) == 200
    assert tree_ticks(200, stats) == 7350
    assert postmaster({300: Stat(ppid=1, ticks=900, comm="python")}) is None


def test_the_database_cpu_is_read_from_proc_and_missing_without_a_server(tmp_path: Path) -> None:
    def process(pid: int, comm: str, ppid: int, utime: int) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(stat_line(pid, comm, ppid, utime, 0))

    process(1, "init", 0, 5)
    assert database_seconds(tmp_path) is None

    process(200, "postgres", 1, 100)
    process(201, "postgres", 200, 300)
    seconds = database_seconds(tmp_path)

    assert seconds is not None and round(seconds * os.sysconf("SC_CLK_TCK")) == 400
