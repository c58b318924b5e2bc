"""Every invariant of the run, checked once the shop has settled, each with its result.

`settled` waits for the shop to finish what the faults left half-done (the recovery job, the
relay, the consumers): no order unsettled, no event unconfirmed, no reservation still active.
Its deadline is generous (SETTLE_DEADLINE) and only bounds a failing run. `check_all` then
reads the books once (snapshot.py) and runs every check of book_checks, money_checks, mail
and answer_checks against them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults import answer_checks, book_checks, mail, money_checks
from tests.faults.answers import Answer
from tests.faults.injection import Injected
from tests.faults.shoppers import Attempt
from tests.faults.snapshot import Snapshot, counts, read

SETTLE_DEADLINE = 180.0
SHOWN = 10  # problems shown per check; the count says how many there were


@dataclass(frozen=True)
class Check:
    name: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        if self.ok:
            return f"ok    {self.name}"
        shown = "".join(f"\n        {problem}" for problem in self.problems[:SHOWN])
        more = len(self.problems) - SHOWN
        return f"FAIL  {self.name}: {len(self.problems)} problems{shown}" + (
            f"\n        ... and {more} more" if more > 0 else ""
        )


@dataclass(frozen=True)
class Evidence:
    """What the checks read besides the database."""

    answers: list[Answer]
    faults: list[Injected]
    attempts: list[Attempt]
    tokens: dict[str, str]  # customer id -> access token
    received: dict[str, int]
    emails: mail.Copies


async def settled(engine: AsyncEngine, within: float = SETTLE_DEADLINE) -> float:
    """Seconds it took until nothing was under way; AssertionError with what was left."""
    started = time.monotonic()
    while True:
        async with engine.connect() as connection:
            left = await counts(connection)
        if not any(left.values()):
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"the shop did not settle within {within:.0f} s: {left}")
        await asyncio.sleep(0.5)


async def check_all(
    engine: AsyncEngine, http: httpx.AsyncClient, base: str, evidence: Evidence
) -> tuple[Snapshot, list[Check]]:
    snapshot = await read(engine)
    answers, attempts = evidence.answers, evidence.attempts
    repeated, unexplained = mail.repeats(evidence.emails, evidence.faults)
    found = {
        "no 500; every other 5xx is a 503 with Retry-After": answer_checks.no_server_errors(
            answers
        ),
        "every request answered while its API was up": answer_checks.answered_while_up(
            answers, evidence.faults
        ),
        "stock conserved per SKU, no oversell": book_checks.stock_conserved(
            snapshot, evidence.received
        ),
        "no unpaid order holds stock; every order settled": (
            book_checks.nothing_unpaid_holds_stock(snapshot)
        ),
        "open authorizations = confirmed orders": money_checks.authorizations_match_orders(
            snapshot
        ),
        "money conserved (captured - refunded per order)": money_checks.money_conserved(snapshot),
        "payment records agree with the gateway": money_checks.payments_agree(snapshot),
        "no cart left checking_out": book_checks.carts_released(snapshot),
        "a confirmation for each placed order, a notice for each shipped, none other": (
            mail.each_order_mailed(snapshot, evidence.emails)
        ),
        f"an email sent twice only by a worker struck then ({len(repeated)} so)": (unexplained),
        "dead_letters empty": book_checks.no_dead_letters(snapshot),
        "every 201 names a placed order": answer_checks.created_orders_placed(attempts, snapshot),
        "every placed order's key replays 201, same order": (
            await answer_checks.replays_answer_201(http, base, evidence.tokens, attempts, snapshot)
        ),
    }
    return snapshot, [Check(name, tuple(problems)) for name, problems in found.items()]
