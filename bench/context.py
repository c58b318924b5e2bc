"""What the items of one run share: the loaded data and its tokens, the carts not yet handed
out, the processes started, the pgbench scripts and the report.

Items run one after another in one process and build on each other (item 8 reads at a
quarter of item 1's peak, item 6 compares with item 2's, item 5 drains the events the
others left, item 7 reads the memory of every API process started), so they share one
`Context` instead of globals. The figures one item takes from another travel in
`report.details` (`listing_rps`, `checkout_rps`), where they are also written out.

Carts are handed out once each, in order: every checkout request of the run moves a cart
of its own, so no two requests compete for one cart and an idempotency key is never
replayed by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import config
from bench import procs as processes
from bench.config import Durations
from bench.dataset import Dataset
from bench.report import Report


@dataclass
class Context:
    report: Report = field(default_factory=Report)
    durations: Durations = field(default_factory=Durations.from_env)
    data: Dataset = field(default_factory=Dataset)
    procs: dict[str, processes.Proc] = field(default_factory=dict)
    token_for: dict[str, str] = field(default_factory=dict)  # customer id -> access token
    scripts: dict[str, Path] = field(default_factory=dict)  # "checkout"/"flash" -> pgbench
    next_cart: int = 0

    def take_carts(self, count: int) -> list[tuple[str, str]]:
        carts = self.data.checkout_carts[self.next_cart : self.next_cart + count]
        self.next_cart += len(carts)
        if len(carts) < count:
            self.report.notes.append(f"ran out of prepared carts ({count} wanted)")
        return carts

    def carts_file(self, name: str, count: int) -> Path:
        """The next `count` carts as wrk's `lua/checkout.lua` reads them."""
        path = config.WORK / f"{name}.tsv"
        carts = self.take_carts(count)
        path.write_text(
            "".join(f"{self.token_for[customer]}\t{cart}\n" for customer, cart in carts)
        )
        return path

    def start_api(self, name: str, port: int, **env: str) -> processes.Proc:
        proc = processes.start_api(name, port, config.api_env(**env))
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str) -> processes.Proc:
        proc = processes.start(name, processes.shopcore("worker"), config.api_env())
        self.procs[name] = proc
        return proc

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
