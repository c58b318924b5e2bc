"""The emails the processes sent (one JSON line each, one file per process), against the
orders: a confirmation for every order that was ever confirmed and for no other, a shipping
notice for every shipped order and for no other.

The notification's dedup key names the order ("order-confirmation:<id>",
"order-shipped:<id>"); a file's lines survive its process being killed and started again.
Each copy is kept with who sent it and when (seconds into the run).

An email is sent at least once, not exactly once (shopcore.application.processed): a worker
SIGKILLed between sending and recording it, or SIGSTOPped there past the claim timeout while
another worker takes its event over, sends it again. `repeats` tells those repeats (a copy
sent by the worker a fault struck, while it struck) from any other, which is a bug; the
report counts both.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from shopcore.ordering.model import CAPTURED_STATES
from tests.faults.injection import Injected
from tests.faults.snapshot import PLACED, Snapshot

CONFIRMATION = "order-confirmation:"
SHIPPING = "order-shipped:"
MARGIN = 1.0  # seconds around a fault in which a copy counts as sent while it struck

Copy = tuple[str, float]  # (the process that sent it, seconds into the run)
Copies = dict[str, list[Copy]]  # dedup key -> every copy sent


def sent(files: list[Path], origin: datetime) -> Copies:
    """Every copy of every email, over every file; `origin` is the run's start."""
    copies: Copies = defaultdict(list)
    for path in files:
        sender = path.stem.removeprefix("mail-")
        for line in path.read_text().splitlines():
            if line.strip():
                email = json.loads(line)
                at = (datetime.fromisoformat(email["sent_at"]) - origin).total_seconds()
                copies[email["dedup_key"]].append((sender, at))
    return dict(copies)


def each_order_mailed(snapshot: Snapshot, copies: Copies) -> list[str]:
    return [
        *_once(copies, CONFIRMATION, set(snapshot.having(*PLACED)), "confirmation"),
        *_once(copies, SHIPPING, set(snapshot.having(*CAPTURED_STATES)), "shipping notice"),
    ]


def repeats(copies: Copies, faults: list[Injected]) -> tuple[list[str], list[str]]:
    """The repeated emails: (explained by a fault, not explained), one sentence each."""
    explained: list[str] = []
    unexplained: list[str] = []
    for key, sends in sorted(copies.items()):
        if len(sends) > 1:
            told = f"{key} sent {len(sends)} times: {_list(sends)}"
            struck = any(_while_struck(copy, faults) for copy in sends)
            (explained if struck else unexplained).append(told)
    return explained, unexplained


def _while_struck(copy: Copy, faults: list[Injected]) -> bool:
    sender, at = copy
    return any(
        fault.strikes(sender) and fault.started - MARGIN <= at <= fault.ended + MARGIN
        for fault in faults
    )


def _once(copies: Copies, prefix: str, orders: set[str], what: str) -> list[str]:
    mailed = {key.removeprefix(prefix) for key in copies if key.startswith(prefix)}
    return [f"no {what} for order {id}" for id in sorted(orders - mailed)] + [
        f"{what} for order {id} ({_list(copies[prefix + id])}), which never needed one"
        for id in sorted(mailed - orders)
    ]


def _list(sends: list[Copy]) -> str:
    return ", ".join(f"{sender} at {at:.1f} s" for sender, at in sorted(sends, key=lambda c: c[1]))
