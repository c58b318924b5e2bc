"""The multi-process run of the capacity model (issue "[6 of 8] Past one machine", item 7):

    make bench-scale       # or: .venv/bin/python -m bench.scale_out   (BENCH_QUICK=1: shorter)

The sizing of `docs/architecture/requirements.md` multiplies per-process figures (CPU per
checkout M1, per uncached read M2) measured on one API process talking straight to
PostgreSQL. This run checks that they still hold with the whole production path in the way:
4 API processes behind nginx, 2 workers, catalog reads on a streaming replica
(`SHOPCORE_DATABASE_READ_URL`) and every connection to the primary through PgBouncer in
transaction mode (`SHOPCORE_DATABASE_TRANSACTION_POOLER`). In the same run, one API process
on the primary directly measures the figures the sizing uses; the rows are the ratios.

The primary and its standby are started here, of their own, on spare ports
(`tests/support/replica.py`: the machine's cluster admits no replication connection), and so
is PgBouncer (`tests/support/pgbouncer.py`); all of them are stopped at the end. Everything
else is `make bench`'s: its data set, its tokens, wrk, nginx's config, the CPU read from
`/proc`. Not part of `make bench` (about 2 minutes more) nor of `make test`. Results:
`bench/results/scale-out.md` and `.json`.
"""

from __future__ import annotations

import os
import sys

from tests.support.pgbouncer import pgbouncer
from tests.support.replica import primary_and_standby

# Connections PgBouncer keeps to the primary: the budget the run checks. Four processes
# would open 4 x 2 x 10 = 80 without it.
SERVER_CONNECTIONS = 20


def main() -> int:
    load_before = os.getloadavg()
    with primary_and_standby("-c max_connections=200") as pair:
        # bench.config reads where PostgreSQL is when it is imported: so only from here on.
        os.environ["BENCH_PG_PORT"] = str(pair.primary_port)
        os.environ["BENCH_PG_ADMIN_DB"] = "postgres"
        os.environ.setdefault("BENCH_WORK", "/tmp/shopcore-bench-scale")
        from bench import scale_measure

        with pgbouncer(pair.primary, SERVER_CONNECTIONS) as pooled:
            return scale_measure.run(pair, pooled, SERVER_CONNECTIONS, load_before)


if __name__ == "__main__":
    sys.exit(main())
