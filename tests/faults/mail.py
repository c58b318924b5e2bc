"""The emails the processes sent (one JSON line each, in one file per process), against the
orders: exactly one confirmation per order that was ever confirmed and none for any other,
exactly one shipping notice per shipped order and none for any other.

The notification's dedup key names the order ("order-confirmation:<id>",
"order-shipped:<id>"); a file's lines survive its process being killed and started again.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from shopcore.ordering.model import CAPTURED_STATES
from tests.faults.snapshot import PLACED, Snapshot

CONFIRMATION = "order-confirmation:"
SHIPPING = "order-shipped:"


def sent(files: list[Path]) -> Counter[str]:
    """How many times each dedup key was sent, over every file."""
    keys: Counter[str] = Counter()
    for path in files:
        for line in path.read_text().splitlines():
            if line.strip():
                keys[json.loads(line)["dedup_key"]] += 1
    return keys


def one_email_each(snapshot: Snapshot, keys: Counter[str]) -> list[str]:
    return [
        *_exactly_once(keys, CONFIRMATION, set(snapshot.having(*PLACED)), "confirmation"),
        *_exactly_once(keys, SHIPPING, set(snapshot.having(*CAPTURED_STATES)), "shipping notice"),
    ]


def _exactly_once(keys: Counter[str], prefix: str, orders: set[str], what: str) -> list[str]:
    counts = {key.removeprefix(prefix): n for key, n in keys.items() if key.startswith(prefix)}
    problems = [
        f"{what} sent {counts.get(id, 0)} times for order {id}"
        for id in sorted(orders)
        if counts.get(id, 0) != 1
    ]
    problems += [
        f"{what} sent for order {id}, which never needed one" for id in sorted(set(counts) - orders)
    ]
    return problems
