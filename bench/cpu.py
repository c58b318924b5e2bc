"""CPU time a server spent, read from /proc: the steadiest figure on a shared machine.

Throughput moves with whatever else runs on the cores; the CPU a process spends per request
moves much less. `cpu_seconds(pid)` is utime + stime of the process and of every live process
below it (granian's worker runs in a child of the process the bench starts; uvicorn with one
worker serves in the process itself), plus cutime + cstime, the time of children already
reaped, so that a child that exits during a run is still counted once. Read before and after
a run, the difference divided by the requests answered is CPU milliseconds per request.

The same reading of the local PostgreSQL server (`database_seconds`: its postmaster and every
backend and background process below it) says what the database spent per request, since the
apps are measured one at a time on the one server.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stat:
    ppid: int
    ticks: int  # utime + stime + cutime + cstime
    comm: str = ""  # the command name (field 2)


def parse_stat(text: str) -> Stat:
    """/proc/PID/stat (proc(5)): the command name, field 2, is in parentheses and may hold
    spaces and parentheses itself, so fields are counted from the last ')'. After it come
    state (3), ppid (4), ... utime (14), stime (15), cutime (16), cstime (17)."""
    comm = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(field) for field in rest[11:15])
    return Stat(ppid, utime + stime + cutime + cstime, comm)


def descendants(root: int, stats: Mapping[int, Stat]) -> set[int]:
    """`root` and every process below it, from each process's parent."""
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_ticks(root: int, stats: Mapping[int, Stat]) -> int:
    return sum(stats[pid].ticks for pid in descendants(root, stats) if pid in stats)


def read_stats(proc: Path = Path("/proc")) -> dict[int, Stat]:
    stats = {}
    for entry in _pids(proc):
        try:
            stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone between listing and reading
    return stats


def _pids(proc: Path) -> Iterable[Path]:
    return (entry for entry in proc.iterdir() if entry.name.isdigit())


def postmaster(stats: Mapping[int, Stat]) -> int | None:
    """The local PostgreSQL server's first process: a `postgres` whose parent is not one
    (its backends and background processes are its children, and reaped backends count in its
    cutime). None when no server runs here; the one with the lowest pid when several do."""
    found = [
        pid
        for pid, stat in stats.items()
        if stat.comm == "postgres" and stats.get(stat.ppid, Stat(0, 0)).comm != "postgres"
    ]
    return min(found) if found else None


def database_seconds(proc: Path = Path("/proc")) -> float | None:
    """CPU seconds the local PostgreSQL server has used so far, all its processes; None when
    it does not run on this machine."""
    stats = read_stats(proc)
    root = postmaster(stats)
    return None if root is None else tree_ticks(root, stats) / TICKS_PER_SECOND


def cpu_seconds(pid: int) -> float:
    """CPU seconds the process `pid` and the processes below it have used so far."""
    return tree_ticks(pid, read_stats()) / TICKS_PER_SECOND


def ms_per(before: float, after: float, answered: int) -> float | None:
    """CPU milliseconds per answered request; None when nothing was answered."""
    if answered <= 0:
        return None
    return (after - before) * 1000 / answered
