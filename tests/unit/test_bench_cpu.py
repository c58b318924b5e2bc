"""CPU per request, read from /proc: the process tree of a server and its ticks."""

from __future__ import annotations

import os
from pathlib import Path

from bench.cpu import Stat, descendants, ms_per, parse_stat, tree_ticks


def stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int = 0) -> str:
    # The fields of proc(5) up to cstime (17), then a few more as the kernel prints them.
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 5012 0 0 0 "
        f"{utime} {stime} {cutime} 0 20 0 3 0 1234 56789 123 18446744073709551615"
    )


def test_ticks_are_user_and_system_time_of_the_process_and_of_its_reaped_children() -> None:
    found = parse_stat(stat_line(4321, "python", 4000, utime=150, stime=30, cutime=7))

    assert found == Stat(ppid=4000, ticks=187)


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    found = parse_stat(stat_line(4321, "granian (worker) 1", 4000, utime=10, stime=2))

    assert found == Stat(ppid=4000, ticks=12)


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
