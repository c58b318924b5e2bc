"""The fault run's checks of what the clients got and what the workers mailed
(tests/faults): they tell a fault's expected trace from a bug's."""

from __future__ import annotations

from tests.faults.answer_checks import answered_while_up, no_server_errors
from tests.faults.answers import Answer
from tests.faults.injection import Injected
from tests.faults.mail import repeats
from tests.faults.schedule import KILL_API, KILL_WORKER, Planned

KILLED_API_2 = Injected(Planned(10.0, KILL_API, 1, 0.0), started=10.0, ended=13.0)
KILLED_WORKER_1 = Injected(Planned(20.0, KILL_WORKER, 0, 0.0), started=20.0, ended=20.2)


def answer(status: int | None, *, instance: int = 0, at: float = 5.0, **more: str) -> Answer:
    return Answer("shopper-1", "POST /v1/checkout", instance, status, at, at + 0.1, **more)


def test_a_500_or_a_503_without_retry_after_is_a_server_error_and_a_503_with_it_is_not() -> None:
    answers = [
        answer(500, code="internal-error"),
        answer(503, code="busy"),
        answer(503, code="busy", retry_after="1"),
        answer(502),
        answer(409, code="idempotency-key-in-use"),
    ]

    found = no_server_errors(answers)

    assert [line.split(" answered ")[1][:3] for line in found] == ["500", "503", "502"]


def test_no_answer_is_expected_only_from_the_api_that_was_down_while_it_was() -> None:
    answers = [
        answer(None, instance=1, at=12.0, error="ConnectError"),  # api-2, while killed
        answer(None, instance=0, at=12.0, error="ConnectError"),  # api-1 was up
        answer(None, instance=1, at=14.0, error="ReadError"),  # api-2, ready again
    ]

    found = answered_while_up(answers, [KILLED_API_2])

    assert [line.split(" got no answer")[0] for line in found] == [
        "POST /v1/checkout on api-1",
        "POST /v1/checkout on api-2",
    ]


def test_an_email_repeated_by_a_worker_killed_while_sending_it_is_told_from_a_bug() -> None:
    copies = {
        "order-confirmation:a": [("worker-1", 20.1), ("worker-2", 22.5)],  # killed sending
        "order-confirmation:b": [("worker-2", 30.0), ("worker-1", 30.2)],  # no fault near
        "order-confirmation:c": [("worker-1", 5.0)],
    }

    explained, unexplained = repeats(copies, [KILLED_WORKER_1])

    assert [line.split(" sent ")[0] for line in explained] == ["order-confirmation:a"]
    assert [line.split(" sent ")[0] for line in unexplained] == ["order-confirmation:b"]
