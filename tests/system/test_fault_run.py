"""The operator's fault run, short: two API processes and two workers on PostgreSQL and a
Redis of the test's own, 8 customers and a staff member at work for about 15 s, while each
kind of fault strikes once, at a moment drawn from the seed: a worker SIGKILLed and started
again, an API process SIGKILLed and started again, every database connection terminated,
Redis SIGKILLed and started again empty, a worker SIGSTOPped for 3 s. Once the shop has
settled, every invariant of tests/faults/invariants.py holds.

The seed is SHOPCORE_FAULT_SEED when set (a failing seed replays its plan), else fixed. The
long version is `make faults` (tests/faults/__main__.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.report import report
from tests.faults.run import Options, run
from tests.faults.schedule import KINDS
from tests.support.databases import empty_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SEED = int(os.environ.get("SHOPCORE_FAULT_SEED", "2024"))


async def test_every_invariant_holds_after_each_kind_of_fault_under_load(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = await empty_postgres(postgres_url, pool_size=1)
    await engine.dispose()
    options = Options(seed=SEED, seconds=15, shoppers=8, pause_seconds=3, kinds=KINDS)

    outcome = await run(options, postgres_url, tmp_path)

    print(report(outcome))
    broken = sum(not check.ok for check in outcome.checks)
    assert outcome.ok, f"seed {SEED} broke {broken} invariants\n{report(outcome)}"
