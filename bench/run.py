"""`make bench`: every figure against a ceiling measured in the same run (issues [5 of 6] and
[3 of 8]: the thin app, bench/thin_app.py, is the ceiling of checkout and uncached reads).

Order: load the data (into shopcore's database and the thin app's), write the pgbench scripts,
then (one API instance, no worker) reads, checkout, flash sale, logins under reads; then the
worker drains the events those runs left and runs beside a checkout peak; then two instances
behind nginx; then live stock streams on the two instances; memory last.
Each item is a module of `bench.scenarios`, run in the order of `SCENARIOS`; this module
only reads the environment, starts and stops the run and writes its results:
bench/results/latest.md and latest.json (`partial.*` when BENCH_ITEMS picks some items);
bench/README.md explains each figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import config, procs
from bench.context import Context
from bench.preparation import clean_redis, prepare
from bench.report import json_payload, log, markdown, run_meta
from bench.scenarios import Scenario, memory, selected


def wanted_items() -> dict[str, Scenario]:
    """The items to run: all of them, or those BENCH_ITEMS names or numbers (separated by
    commas or spaces, e.g. `BENCH_ITEMS=reads,streams` or `BENCH_ITEMS=2`) while working on
    one; a partial run writes `partial.*`."""
    wanted = re.split(r"[,\s]+", os.environ.get("BENCH_ITEMS", "").strip())
    return selected([name for name in wanted if name])


def main() -> int:
    # An unknown name is refused before anything is installed, dropped or loaded.
    items = wanted_items()
    started = time.perf_counter()
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    installed = procs.ensure_tools()
    for other in _others_busy():
        print(f"warning: busy beside the bench: {other}", flush=True)
    config.WORK.mkdir(parents=True, exist_ok=True)
    config.RESULTS.mkdir(parents=True, exist_ok=True)
    clean_redis()
    ctx = Context()
    if installed:
        ctx.report.notes.append(f"installed {', '.join(installed)} from Debian's packages")
    try:
        asyncio.run(prepare(ctx))
        ctx.start_api("api-1", config.API_PORT)
        for name, run in items.items():
            run(ctx)
            memory.note(ctx, name)
        memory.run(ctx)
    finally:
        ctx.stop_all()
        clean_redis()
    meta = run_meta(started, load_before, stamp)
    text = markdown(ctx.report, meta)
    stem = "partial" if os.environ.get("BENCH_ITEMS") else "latest"
    (config.RESULTS / f"{stem}.md").write_text(text)
    payload = json_payload(ctx.report, meta)
    (config.RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print()
    print(text)
    log(f"done in {meta['duration_s']:.0f} s; wrote bench/results/{stem}.md and {stem}.json")
    return 0


def _others_busy() -> list[str]:
    """Other heavy processes on the machine (a test run beside the bench skews every figure)."""
    out = subprocess.run(["ps", "-eo", "pcpu=,args="], capture_output=True, text=True).stdout
    mine = str(config.WORK)
    busy = []
    for line in out.splitlines():
        cpu, _, args = line.strip().partition(" ")
        if float(cpu or 0) >= 20 and "bench.run" not in args and mine not in args:
            busy.append(f"{cpu}% {args[:80]}")
    return busy


if __name__ == "__main__":
    sys.exit(main())
