"""`python -m tests.faults`: the operator's fault run as a soak (`make faults`), with a report.

    python -m tests.faults --seed 7 --seconds 60 --shoppers 40

Runs on a PostgreSQL database of its own (created on SHOPCORE_TEST_POSTGRES_URL's server,
dropped after) and a Redis server of its own; keeps the processes' logs and mail in a
directory it prints. Exits 1 when an invariant is broken. Without --seed it draws one and
prints it: give it again to replay the same plan.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

from tests.faults.report import report
from tests.faults.run import Options, run
from tests.support.databases import drop_postgres, scratch_postgres


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=60.0, help="of load (default 60)")
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--pause", type=float, default=10.0, help="SIGSTOP length (10 s)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    options = Options(
        seed=seed, seconds=args.seconds, shoppers=args.shoppers, pause_seconds=args.pause
    )
    directory = Path(tempfile.mkdtemp(prefix=f"shopcore-faults-{seed}-"))
    print(f"fault run with seed {seed}; logs in {directory}", flush=True)
    database_url = scratch_postgres()
    try:
        outcome = asyncio.run(run(options, database_url, directory))
    finally:
        drop_postgres(database_url)
    print(report(outcome))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
