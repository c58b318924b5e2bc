"""The items of the bench, one module each, and the one list that says which run and in what
order.

`SCENARIOS` is that list: `BENCH_ITEMS` is checked against its names (or the items' numbers,
`NUMBERS`), `bench.run` runs its
entries in its order, and `latest.json` records memory under the same names. The order is
the run's, not the items' numbers, because items build on each other: with one API instance
and no worker, reads (1), checkout (2), flash sale (3), then logins under reads (8), at a
quarter of item 1's peak, once the flash sale's connections settle; then the worker (5)
drains the events those runs left; then a second instance behind nginx (6), which live stock
streams (4) use with a worker of their own. Memory (7) runs last in every run, since it reads
the peaks of the processes the others started: naming it alone runs nothing else.
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


# The numbers the result table labels items with (bench/README.md), for each name.
NUMBERS = {
    "1": "reads",
    "2": "checkout",
    "3": "flash_sale",
    "4": "streams",
    "5": "worker",
    "6": "nginx",
    "7": "memory",
    "8": "logins",
}
# Memory runs last in every run; naming it alone runs nothing else.
ALWAYS = "memory"


def selected(wanted: list[str]) -> dict[str, Scenario]:
    """The scenarios `wanted` names, by name or by the number the table shows (`2` or
    `checkout`), in the run's order; all of them when it is empty. Anything else is refused
    here, before the run installs, drops or loads anything."""
    names = {NUMBERS.get(item, item) for item in wanted}
    unknown = sorted(item for item in wanted if NUMBERS.get(item, item) not in {*SCENARIOS, ALWAYS})
    if unknown:
        known = ", ".join(f"{number} {name}" for number, name in NUMBERS.items())
        raise SystemExit(f"BENCH_ITEMS: unknown {', '.join(unknown)}; known: {known}")
    return {name: run for name, run in SCENARIOS.items() if not wanted or name in names}
