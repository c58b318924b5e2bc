"""The wait of a loop that keeps failing: it doubles, stops at its cap, and never overflows."""

from __future__ import annotations

from adapters.machinery.backoff import backoff


def test_the_wait_doubles_with_each_failure_up_to_its_cap() -> None:
    assert [backoff(n, 0.05, 2.0) for n in range(1, 8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_a_loop_that_failed_for_hours_still_waits_its_cap() -> None:
    # 0.05 * 2**1100 overflows a float: an outage that long killed the loops before.
    assert backoff(1_100, 0.05, 2.0) == 2.0
    assert backoff(10**9, 0.001, 30.0) == 30.0
