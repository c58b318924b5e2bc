"""The broker comparison's pure parts: percentiles, spreads, the table, the payload and the
command line (bench/brokers/). The broker runs themselves are `make bench-brokers`, never a test."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from bench.brokers.__main__ import BROKERS, parse
from bench.brokers.payload import outbox
from bench.brokers.report import table
from bench.brokers.stats import median, percentile, spread
from shopcore.event_types import AnyEvent
from shopcore.ordering.events import OrderPlaced


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_ignores_the_order_it_is_given() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_percentile_refuses_a_fraction_outside_zero_to_one(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_percentile_of_nothing_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_median_and_spread_of_repeats() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert spread([5.0, 9.0, 7.0]) == (7.0, 5.0, 9.0)


def _figures(throughput: list[float], p99: list[float | None], lost: int = 0) -> dict[str, Any]:
    runs = [{"p50_ms": 1.0, "p99_ms": value, "lost": lost} for value in p99]
    return {"throughput": throughput, "latency": {"500": runs}}


def test_table_shows_median_with_its_range_and_the_ratio_in_each_repeat() -> None:
    results = {
        "redis": _figures([100.0, 90.0, 110.0], [2.0, 3.0, 4.0]),
        "nats": _figures([50.0, 36.0, 66.0], [1.0, None, 5.0], lost=2),
    }
    lines = table(results, "redis", [500]).splitlines()
    assert (
        lines[0] == "| broker | relay events/s | vs redis | p50 ms @500/s | p99 ms @500/s | lost |"
    )
    assert lines[2] == (
        "| redis | 100 (90-110) | 1.00x (1.00-1.00) | 1.0 (1.0-1.0) | 3.0 (2.0-4.0) | 0 |"
    )
    # an unread figure is named, never averaged away; losses are summed over the repeats
    assert lines[3] == (
        "| nats | 50 (36-66) | 0.50x (0.40-0.60) | 1.0 (1.0-1.0) | 3.0 (1.0-5.0), 1 missing | 6 |"
    )


def test_the_payload_is_an_order_placed_as_the_outbox_stores_it() -> None:
    entries = outbox(3, first_id=10)
    assert [entry.id for entry in entries] == [10, 11, 12]
    assert len({entry.event_id for entry in entries}) == 3
    event = msgspec.json.decode(entries[0].payload, type=AnyEvent)
    assert isinstance(event, OrderPlaced)
    assert event.event_id == entries[0].event_id
    assert entries[0].event_type == "OrderPlaced"


def test_the_command_line_defaults_to_every_broker() -> None:
    args = parse([])
    assert args.brokers == list(BROKERS)
    assert args.rates == [500, 2_000]


@pytest.mark.parametrize(
    "argv",
    [
        ["--brokers", "kafka"],
        ["--brokers", ""],
        ["--rates", "500,0"],
        ["--repeat", "0"],
        ["--events", "10"],  # less than one relay batch
        ["--seconds", "x"],
    ],
)
def test_the_command_line_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        parse(argv)
    assert refused.value.code == 2
