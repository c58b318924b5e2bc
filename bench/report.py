"""What a run prints and writes: one `Row` per figure, the `Report` that collects them, and
its markdown table (`bench/results/latest.md`).

A row keeps the raw figure and the ceiling measured in the same run, and derives the ratio
from them instead of storing it: the machine is shared and noisy, so the ratio is what
compares between runs (bench/README.md), and a stored ratio could disagree with its figures.
Each row is printed as it is added, so a run that fails half-way still showed what it
measured. The `*_summary` functions turn a load generator's result into the plain dict
`latest.json` keeps under `details`.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import capture, loadgen, wrk


@dataclass
class Row:
    item: str
    measure: str
    shopcore: float | None
    ceiling: float | None = None
    unit: str = "req/s"
    target: str = ""
    met: bool | None = None
    note: str = ""
    # Other figures the row reports (a p99 in its note) that could not be read.
    missing: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        if self.shopcore is None or not self.ceiling:
            return None
        return self.shopcore / self.ceiling

    @property
    def absent(self) -> tuple[str, ...]:
        """Every figure of this row that could not be read, its own first."""
        own = ("figure",) if self.shopcore is None else ()
        return own + self.missing

    @property
    def verdict(self) -> bool | None:
        """Met, not met, or nothing to meet. A row with a figure missing is never met: a
        latency the bench could not read is as likely as not the one that failed."""
        if self.absent:
            return False
        return self.met


def missing(**figures: float | None) -> tuple[str, ...]:
    """The names of those `figures` that could not be read."""
    return tuple(name.replace("_", " ") for name, value in figures.items() if value is None)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        shown = f"{row.shopcore:,.1f}" if row.shopcore is not None else "missing"
        ceiling = f" vs {row.ceiling:,.1f}" if row.ceiling else ""
        ratio = f" = {row.ratio:.2f}x" if row.ratio is not None else ""
        lost = f" (missing: {', '.join(row.absent)})" if row.absent else ""
        print(
            f"  {row.item:<3} {row.measure:<52} {shown} {row.unit}{ceiling}{ratio}{lost}",
            flush=True,
        )
        return row


def run_meta(started: float, load_before: tuple[float, ...], stamp: str) -> dict[str, Any]:
    """What every results file says of its run: when, how long, on what, at what load."""
    return {
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "started": stamp,
        "duration_s": time.perf_counter() - started,
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}",
        "quick": bool(os.environ.get("BENCH_QUICK")),
    }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fmt(value: float | None, digits: int = 1) -> str:
    return "missing" if value is None else f"{value:,.{digits}f}"


def wrk_summary(result: wrk.WrkResult) -> dict[str, Any]:
    return {
        "rps": result.rps,
        "requests": result.requests,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "percentiles_ms": result.percentiles_ms,
    }


def latency_summary(result: loadgen.LatencyResult) -> dict[str, Any]:
    return {
        "rate": result.rate,
        "achieved": result.achieved_rate,
        "ok": result.ok,
        "errors": result.errors,
        "p50_ms": result.pct(50),
        "p90_ms": result.pct(90),
        "p99_ms": result.pct(99),
    }


def pgbench_summary(result: capture.PgbenchResult) -> dict[str, Any]:
    return asdict(result) | {"raw": result.raw[-800:]}


def markdown(
    report: Report,
    meta: dict[str, Any],
    title: str = "shopcore benchmark: latest run",
    command: str = "make bench",
) -> str:
    lines = [
        f"# {title}",
        "",
        f"Run {meta['started']} on {meta['machine']}, {meta['duration_s']:.0f} s in all "
        f"(`{command}`; see bench/README.md for what each figure measures). Load average "
        f"before {meta['load_average_before'][0]}, after {meta['load_average_after'][0]} "
        "(1 min): on this 2-core machine anything else running skews every figure.",
        "",
        "| # | measure | shopcore | ceiling | ratio | target | met | notes |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for row in report.rows:
        verdict = row.verdict
        met = "" if verdict is None else ("yes" if verdict else "**no**")
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        ceiling = "" if row.ceiling is None else f"{fmt(row.ceiling)} {row.unit}"
        shown = "**missing**" if row.shopcore is None else f"{fmt(row.shopcore)} {row.unit}"
        note = row.note
        if row.absent:
            note = f"**could not read: {', '.join(row.absent)}**; {note}".rstrip("; ")
        lines.append(
            f"| {row.item} | {row.measure} | {shown} | {ceiling} | "
            f"{ratio} | {row.target} | {met} | {note} |"
        )
    sql_info = report.details.get("checkout_sql")
    if sql_info:
        lines += [
            "",
            f"A 3-line checkout sends {sql_info['statements']} statements, "
            f"{sql_info.get('autocommit_statements', 0)} of them alone in autocommit and the "
            f"rest in {sql_info['transactions']} transactions: {sql_info['round_trips']} round "
            "trips to PostgreSQL (BEGIN and COMMIT included), which pgbench replays as recorded.",
        ]
    thin = report.details.get("thin_sql")
    if thin:
        lines += [
            "",
            f"The thin app's 3-line checkout sends {thin['statements']} statements, one of them "
            f"alone (the idempotency key) and the rest in {thin['transactions']} transactions: "
            f"{thin['round_trips']} round trips.",
        ]
    if report.notes:
        lines += ["", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def json_payload(report: Report, meta: dict[str, Any]) -> dict[str, Any]:
    """Everything `latest.json` keeps: the rows with their ratios, every raw figure, the notes."""
    return {
        "meta": meta,
        "rows": [
            asdict(row) | {"ratio": row.ratio, "met": row.verdict, "missing": list(row.absent)}
            for row in report.rows
        ],
        "details": report.details,
        "notes": report.notes,
    }
