"""The table and the JSON of a run: pure functions of the figures, unit-tested."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.brokers.stats import spread

Figures = Mapping[str, Any]  # one broker's results: lists of repeats


def _fmt(value: float | None, digits: int = 1) -> str:
    return "missing" if value is None else f"{value:,.{digits}f}"


def _spread(values: Sequence[float | None], digits: int = 1) -> str:
    known = [value for value in values if value is not None]
    if not known:
        return "missing"
    middle, low, high = spread(known)
    if len(known) == 1:
        return _fmt(middle, digits)
    text = f"{_fmt(middle, digits)} ({_fmt(low, digits)}-{_fmt(high, digits)})"
    return text if len(known) == len(values) else f"{text}, {len(values) - len(known)} missing"


def ratios(values: Sequence[float], baseline: Sequence[float]) -> str:
    """The ratio in each repeat (a broker against the baseline measured seconds before it),
    as median (lowest-highest): steadier than a ratio of medians taken minutes apart."""
    each = [value / base for value, base in zip(values, baseline, strict=True) if base]
    if not each:
        return "n/a"
    middle, low, high = spread(each)
    return f"{middle:.2f}x" if len(each) == 1 else f"{middle:.2f}x ({low:.2f}-{high:.2f})"


def table(results: Mapping[str, Figures], baseline: str, rates: Sequence[int]) -> str:
    """One row per broker: relay throughput (median, lowest-highest over the repeats, and the
    ratio against `baseline` in each repeat), then p50 / p99 at each rate and deliveries lost."""
    header = ["broker", "relay events/s", f"vs {baseline}"]
    for rate in rates:
        header += [f"p50 ms @{rate}/s", f"p99 ms @{rate}/s"]
    header.append("lost")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    base = results[baseline]["throughput"]
    for name, figures in results.items():
        throughput = figures["throughput"]
        row = [name, _spread(throughput, 0), ratios(throughput, base)]
        for rate in rates:
            runs = figures["latency"][str(rate)]
            row += [
                _spread([run["p50_ms"] for run in runs]),
                _spread([run["p99_ms"] for run in runs]),
            ]
        lost = sum(run["lost"] for runs in figures["latency"].values() for run in runs)
        row.append(str(lost))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
