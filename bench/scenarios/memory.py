"""Item 7: peak memory of every API process, after all the runs.

shopcore side: VmHWM of each API process from `/proc/<pid>/status`, after all the runs (500
flash connections and 500 streams per instance included).
Target: < 200 MB (no ceiling).

VmHWM is the most the process ever had resident, so reading it once at the end sees every
item's peak; a stopped process keeps the last figure read before it stopped
(`Proc.stop`). `note` also records the peaks after each item in `latest.json`
(`details.rss_mb_after`), to tell which item raised them.
"""

from __future__ import annotations

from bench.context import Context
from bench.procs import Proc
from bench.report import Row


def run(ctx: Context) -> None:
    for name, proc in _api_processes(ctx):
        peak = proc.rss_peak()
        row = ctx.report.add(
            Row("7", f"peak RSS of {name} (VmHWM)", peak / 1024, unit="MB", target="< 200 MB")
        )
        row.met = 0 < peak / 1024 < 200


def note(ctx: Context, after: str) -> None:
    peaks = {name: proc.rss_peak() // 1024 for name, proc in _api_processes(ctx)}
    ctx.report.details.setdefault("rss_mb_after", {})[after] = peaks


def _api_processes(ctx: Context) -> list[tuple[str, Proc]]:
    return [(name, proc) for name, proc in ctx.procs.items() if name.startswith("api")]
