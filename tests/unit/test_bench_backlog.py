"""Whether one worker keeps up: each consumer group's backlog over a checkout peak."""

from __future__ import annotations

from bench.backlog import Sample, group_backlog, paces


def run(backlogs: list[int | None], produced: int = 800, seconds: float = 8.0) -> list[Sample]:
    return [
        Sample(at=k * 0.5, unpublished=0, groups={"notifications": b})
        for k, b in enumerate(backlogs)
    ]


def test_a_group_whose_backlog_stays_under_a_second_of_production_keeps_up() -> None:
    (pace,) = paces(run([0, 40, 60, 30, 55, 20, 45, 35, 30]), produced=800, seconds=8.0)

    assert pace.handled == 770  # produced, less the 30 still in flight at the end
    assert pace.handled_per_second == 96.25
    assert (pace.end_backlog, pace.late_max_backlog) == (30, 55)
    assert pace.bounded


def test_a_group_whose_backlog_grows_through_the_run_falls_behind() -> None:
    (pace,) = paces(run([0, 50, 100, 150, 200, 250, 300, 350, 400]), produced=800, seconds=8.0)

    assert pace.handled == 400
    assert not pace.bounded


def test_unpublished_outbox_rows_count_in_every_groups_backlog() -> None:
    samples = [
        Sample(at=0.0, unpublished=0, groups={"a": 0, "b": 0}),
        Sample(at=1.0, unpublished=120, groups={"a": 0, "b": 5}),
    ]

    found = {p.group: p for p in paces(samples, produced=100, seconds=1.0)}

    assert (found["a"].end_backlog, found["b"].end_backlog) == (120, 125)
    assert not found["a"].bounded


def test_a_group_whose_lag_redis_cannot_tell_is_not_met() -> None:
    (pace,) = paces(run([0, 10, None, 10]), produced=100, seconds=2.0)

    assert pace.late_max_backlog is None
    assert not pace.bounded
    assert group_backlog({"name": "g", "pending": 3, "lag": None}) is None
    assert group_backlog({"name": "g", "pending": 3, "lag": 4}) == 7
