"""The scale-out run's verdicts (bench/scale_measure.py), on figures made up for each case: the
run itself needs two PostgreSQL servers, PgBouncer, nginx and wrk (`make bench-scale`)."""

from __future__ import annotations

from typing import Any

from bench.report import Report
from bench.scale_measure import _rows


def _reads(cpu_ms: float | None, answered: int = 1000) -> dict[str, Any]:
    return {"rps": 100.0, "answered": answered, "non_2xx": 0, "cpu_ms": cpu_ms, "wrk": {}}


def _checkout(cpu_ms: float | None) -> dict[str, Any]:
    return {"rps": 10.0, "confirmed": 80, "non_2xx": 0, "cpu_ms": cpu_ms, "wrk": {}}


def _figures(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    single = {
        "listing": _reads(1.0),
        "detail": _reads(0.5),
        "checkout": _checkout(8.0),
        "checkout_pooled": _checkout(16.0),
    }
    multi = {
        "listing": _reads(1.2),
        "detail": _reads(0.6),
        "checkout": _checkout(18.0),
        "standby_transactions": 2000,
        "primary_connections": 20,
        "drain_s": 1.0,
        "unpublished_after_drain": 0,
    }
    multi.update(changes)
    return single, multi


def _verdicts(single: dict[str, Any], multi: dict[str, Any]) -> dict[str, bool | None]:
    report = Report()
    _rows(report, single, multi, server_connections=20)
    return {row.measure: row.verdict for row in report.rows}


def test_figures_within_a_quarter_of_one_process_confirm_it() -> None:
    verdicts = _verdicts(*_figures())
    assert verdicts["CPU per uncached listing: 4 processes via nginx + replica vs 1 process"]
    assert verdicts[
        "CPU per checkout: 4 processes via nginx + PgBouncer vs 1 process through PgBouncer"
    ]
    # 18 ms against 8 ms direct: the pooler's cost shows against M1.
    assert not verdicts[
        "CPU per checkout: 4 processes via nginx + PgBouncer vs 1 process directly (M1)"
    ]
    assert all(verdicts[name] for name in verdicts if "standby" in name or "drained" in name)


def test_reads_the_primary_answered_or_a_connection_past_the_budget_fail() -> None:
    verdicts = _verdicts(*_figures(standby_transactions=1500, primary_connections=21))
    assert not verdicts["transactions on the standby vs catalog reads answered"]
    assert not verdicts["most connections to the primary during the checkout peak"]


def test_a_cpu_figure_not_read_is_not_met_and_a_backlog_left_fails() -> None:
    single, multi = _figures(unpublished_after_drain=3, detail=_reads(None))
    verdicts = _verdicts(single, multi)
    assert not verdicts[
        "CPU per uncached product page: 4 processes via nginx + replica vs 1 process"
    ]
    assert not verdicts["backlog of the checkout peak drained by 2 workers"]
