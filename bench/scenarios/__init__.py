"""The items of the bench, one module each, and the one list that says which run and in what
order.

`SCENARIOS` is that list: `BENCH_ITEMS` is checked against its names, `bench.run` runs its
entries in its order, and `latest.json` records memory under the same names. The order is
the run's, not the items' numbers, because items build on each other: with one API instance
and no worker, reads (1), checkout (2), flash sale (3), then logins under reads (8), at a
quarter of item 1's peak, once the flash sale's connections settle; then the worker (5)
drains the events those runs left; then a second instance behind nginx (6), which live stock
streams (4) use with a worker of their own. Memory (7) is not selectable: it runs last in
every run, since it reads the peaks of the processes the others started.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.context import Context
from bench.scenarios import checkout, flash_sale, logins, nginx, reads, streams, worker

Scenario = Callable[[Context], None]

SCENARIOS: dict[str, Scenario] = {
    "reads": reads.run,
    "checkout": checkout.run,
    "flash_sale": flash_sale.run,
    "logins": logins.run,
    "worker": worker.run,
    "nginx": nginx.run,
    "streams": streams.run,
}


def selected(wanted: list[str]) -> dict[str, Scenario]:
    """The scenarios named in `wanted`, in the run's order; all of them when it is empty."""
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"BENCH_ITEMS: unknown {unknown}; known {list(SCENARIOS)}")
    return {name: run for name, run in SCENARIOS.items() if not wanted or name in wanted}
