"""Invariants of what the clients were answered.

- no 500, and every other 5xx is a 503 with Retry-After;
- no request went unanswered (refused, reset, timed out) unless it overlapped the time its
  API process was down (SIGKILLed until ready again): once every process is up, every
  request gets an answer;
- every 201 a customer got names an order that was placed (confirmed, or later shipped or
  refunded);
- every placed order's key replays it: the same request with the same key, sent again now,
  answers 201 with the same order and `Idempotent-Replayed: true` (checked over HTTP,
  `replays_answer_201`).
"""

from __future__ import annotations

import asyncio

import httpx

from tests.faults.answers import Answer
from tests.faults.injection import Injected
from tests.faults.shoppers import Attempt
from tests.faults.snapshot import PLACED, Snapshot

REPLAYS_AT_ONCE = 8


def no_server_errors(answers: list[Answer]) -> list[str]:
    return [
        f"{a.route} answered {a.status} {a.code} at {a.started:.1f} s on api-{a.instance + 1}"
        f"{'' if a.retry_after else ' without Retry-After'}: {a.detail}"
        for a in answers
        if a.status is not None and a.status >= 500 and (a.status != 503 or not a.retry_after)
    ]


def answered_while_up(answers: list[Answer], faults: list[Injected]) -> list[str]:
    problems = []
    for answer in answers:
        if answer.status is not None:
            continue
        windows = [w for f in faults if (w := f.down(answer.instance)) is not None]
        if not any(answer.started <= end and answer.ended >= start for start, end in windows):
            problems.append(
                f"{answer.route} on api-{answer.instance + 1} got no answer ({answer.error}) at "
                f"{answer.started:.1f}-{answer.ended:.1f} s, while it was up"
            )
    return problems


def created_orders_placed(attempts: list[Attempt], snapshot: Snapshot) -> list[str]:
    problems = []
    for attempt in attempts:
        if attempt.order_id is None:
            continue
        order = snapshot.orders.get(attempt.order_id)
        if order is None or order.status not in PLACED:
            status = "missing" if order is None else order.status
            problems.append(f"key {attempt.key} got 201 for order {attempt.order_id}, now {status}")
    return problems


async def replays_answer_201(
    http: httpx.AsyncClient,
    base: str,
    tokens: dict[str, str],
    attempts: list[Attempt],
    snapshot: Snapshot,
) -> list[str]:
    """Replays every placed order's key (found by SQL: the key row naming the order)."""
    sent = {(a.customer_id, a.key): a for a in attempts}
    named = {order_id: owner_key for owner_key, order_id in snapshot.keys.items() if order_id}
    problems = []
    replays = []
    for order_id in sorted(snapshot.having(*PLACED)):
        attempt = sent.get(named.get(order_id, ("", "")))
        if attempt is None:
            problems.append(f"placed order {order_id} has no key of a customer's naming it")
        else:
            replays.append((order_id, attempt))
    turns = asyncio.Semaphore(REPLAYS_AT_ONCE)
    checks = [
        _replay(http, turns, base, tokens[a.customer_id], order_id, a) for order_id, a in replays
    ]
    for found in await asyncio.gather(*checks):
        problems.extend(found)
    return problems


async def _replay(
    http: httpx.AsyncClient,
    turns: asyncio.Semaphore,
    base: str,
    token: str,
    order_id: str,
    attempt: Attempt,
) -> list[str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": attempt.key,
        "Content-Type": "application/json",
    }
    async with turns:
        for tries_left in (1, 0):
            try:
                response = await http.post(
                    f"{base}/v1/checkout", content=attempt.body, headers=headers
                )
                break
            except httpx.TransportError:
                # A kept-alive connection the server closed while the shop settled (a seed's
                # run met one): sending a replay again is what a replay is for.
                if not tries_left:
                    raise
    replayed = response.headers.get("idempotent-replayed")
    if response.status_code != 201 or response.json().get("id") != order_id or replayed != "true":
        return [
            f"key {attempt.key} of order {order_id} replayed {response.status_code} "
            f"(Idempotent-Replayed: {replayed}): {response.text[:200]}"
        ]
    return []
