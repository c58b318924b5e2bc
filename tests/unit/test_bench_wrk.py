"""Reading wrk's report: every latency unit wrk prints, whatever its padding.

The reports in wrk_reports/ are wrk's own output (wrk 4.1.0, Debian 12) against a local server
that answers after a set delay: microseconds, milliseconds, seconds and minutes, and a mix
whose median is in milliseconds and whose tail is in seconds. wrk pads every value to a fixed
width and keeps two spaces for the unit, so a value in seconds or minutes ends in a space."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import wrk

REPORTS = Path(__file__).parent / "wrk_reports"


def report(name: str) -> wrk.WrkResult:
    return wrk.parse((REPORTS / f"latency_{name}.txt").read_text())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("us", {"50": 0.029, "75": 0.06, "90": 0.399, "99": 2.64}),
        ("ms", {"50": 5.36, "75": 5.6, "90": 6.11, "99": 9.31}),
        ("s", {"50": 1100.0, "75": 1100.0, "90": 1100.0, "99": 1100.0}),
        ("mixed", {"50": 11.09, "75": 562.27, "90": 946.51, "99": 1200.0}),
        ("m", {"50": 61_200.0, "75": 61_200.0, "90": 61_200.0, "99": 61_200.0}),
    ],
)
def test_every_percentile_is_read_in_milliseconds_whatever_its_unit(
    name: str, expected: dict[str, float]
) -> None:
    result = report(name)

    assert result.percentiles_ms == pytest.approx(expected)
    assert result.p50_ms == pytest.approx(expected["50"])
    assert result.p99_ms == pytest.approx(expected["99"])


def test_a_value_in_seconds_is_read_though_wrk_pads_it_with_a_trailing_space() -> None:
    text = (REPORTS / "latency_s.txt").read_text()
    assert "     99%    1.10s \n" in text  # as wrk prints it

    assert report("s").p99_ms == pytest.approx(1100.0)


def test_the_counts_beside_the_latencies_are_read_too() -> None:
    result = report("mixed")

    assert (result.requests, result.rps) == (754, 125.53)
    assert (result.non_2xx, result.socket_errors) == (0, 0)


@pytest.mark.parametrize(
    ("printed", "ms"),
    [
        ("812.00us", 0.812),
        ("3.40ms", 3.4),
        ("2.05s ", 2050.0),
        ("1.50m ", 90_000.0),
        ("2.00h ", 7_200_000.0),
    ],
)
def test_each_unit_wrk_can_print_is_known(printed: str, ms: float) -> None:
    lines = ["  Latency Distribution", f"     99%   {printed}", "  1 requests in 1.00s, 2B read"]
    text = "\n".join([*lines, "Requests/sec:      1.00", ""])

    assert wrk.parse(text).p99_ms == pytest.approx(ms)


def test_a_latency_that_cannot_be_read_is_missing_rather_than_a_guess() -> None:
    text = "  Latency Distribution\n     50%    -nan\n     99%    1.20s \n  3 requests in 1.00s\n"
    result = wrk.parse(text + "Requests/sec:      3.00\n")

    assert result.p50_ms is None
    assert result.p99_ms == pytest.approx(1200.0)
