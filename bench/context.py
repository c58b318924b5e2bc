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

from collections.abc import Callable
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
    # pgbench scripts: "checkout"/"flash" (shopcore's recorded SQL), "thin-checkout"/"thin-flash"
    scripts: dict[str, Path] = field(default_factory=dict)
    next_cart: int = 0
    next_thin_cart: int = 0  # the thin app's database holds its own copy of every cart
    # Checks an item leaves for once a worker runs (its recovery job finishes the checkouts
    # an overloaded API left unsettled): item 5 runs them when it is done.
    after_worker: list[Callable[[], None]] = field(default_factory=list)

    def take_carts(self, count: int, *, thin: bool = False) -> list[tuple[str, str]]:
        start = self.next_thin_cart if thin else self.next_cart
        carts = self.data.checkout_carts[start : start + count]
        if thin:
            self.next_thin_cart += len(carts)
        else:
            self.next_cart += len(carts)
        if len(carts) < count:
            app = "the thin app" if thin else "shopcore"
            self.report.notes.append(f"ran out of prepared carts for {app} ({count} wanted)")
        return carts

    def carts_file(self, name: str, count: int, *, thin: bool = False) -> Path:
        """The next `count` carts as wrk's `lua/checkout.lua` reads them."""
        path = config.WORK / f"{name}.tsv"
        carts = self.take_carts(count, thin=thin)
        path.write_text(
            "".join(f"{self.token_for[customer]}\t{cart}\n" for customer, cart in carts)
        )
        return path

    def start_api(self, name: str, port: int, **env: str) -> processes.Proc:
        proc = processes.start_api(name, port, config.api_env(**env))
        self.procs[name] = proc
        return proc

    def start_thin(self) -> processes.Proc:
        """The thin app (bench/thin_app.py) on its own database, served as the API is. Items
        stop it when they are done with it, so that its pool holds no connections meanwhile."""
        env = {
            **config.api_env(),
            "BENCH_THIN_DSN": config.THIN_DSN,
            "BENCH_JWT_SECRET": config.JWT_SECRET,
        }
        proc = processes.start_granian("thin", "bench.thin_app:app", config.THIN_PORT, env)
        self.procs["thin"] = proc
        return proc

    def start_worker(self, name: str) -> processes.Proc:
        proc = processes.start(name, processes.shopcore("worker"), config.api_env())
        self.procs[name] = proc
        return proc

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
