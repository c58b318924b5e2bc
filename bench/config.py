"""Where the benchmark runs and how hard it pushes. Everything lives under names of its own
(databases `shopcore_bench` and `shopcore_thin`, Redis db 9, keys under `shopcore-bench`), so
a bench run never touches the test suite's data or another shop's keys."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
# The load balancer's server block, shared with the compose deployment (item 6 fills it in).
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "shopcore.conf.template"
# Scratch files of one run (logs, wrk scripts' data, pgbench scripts, the mail file).
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/shopcore-bench"))

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("BENCH_PG_ADMIN_DB", "test")  # to drop and create ours from
PG_DB = os.environ.get("BENCH_PG_DB", "shopcore_bench")
DATABASE_URL = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"
ASYNCPG_DSN = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"
# The thin app's own database (bench/thin_app.py), dropped, created and filled at every run.
THIN_DB = os.environ.get("BENCH_THIN_DB", "shopcore_thin")
THIN_DSN = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{THIN_DB}"

REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
REDIS_NAMESPACE = "shopcore-bench"
EVENTS_STREAM = "shopcore-bench:events"

API_PORT = int(os.environ.get("BENCH_API_PORT", "18000"))
API_PORT_2 = API_PORT + 1
CEILING_PORT = API_PORT + 10
THIN_PORT = API_PORT + 11
NGINX_PORT = API_PORT + 20

JWT_SECRET = "bench-signing-key-" + "x" * 32
PASSWORD = "a long enough bench passphrase"

PRODUCTS = 10_000
VARIANTS_PER_PRODUCT = 2
CUSTOMERS = 200
# One per checkout request: peak, fixed-rate and nginx runs; the thin app takes its own copies
# of the first 56,400 (traffic.THIN_CARTS_PER_CHECKOUT_SECOND).
CHECKOUT_CARTS = 60_000
FLASH_UNITS = 1_000
FLASH_BUYERS = 500


@dataclass(frozen=True)
class Durations:
    """Seconds per wrk run. BENCH_QUICK=1 halves them for trying the harness out."""

    warmup: float = 2
    read: float = 8
    checkout: float = 8
    latency: float = 8
    pgbench_transactions: int = 200  # per client, for each checkout script

    @classmethod
    def from_env(cls) -> Durations:
        if os.environ.get("BENCH_QUICK"):
            return cls(warmup=1, read=3, checkout=3, latency=3, pgbench_transactions=100)
        return cls()


def api_env(**extra: str) -> dict[str, str]:
    """The environment of every shopcore process the bench starts: PostgreSQL, Redis under
    the bench's names, rate limits and the per-client stream cap out of the way (the limiter
    and the stream slots themselves still run)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_") and k not in {"PORT"}
    }
    env.update(
        SHOPCORE_DATABASE_URL=DATABASE_URL,
        SHOPCORE_REDIS_URL=REDIS_URL,
        SHOPCORE_REDIS_NAMESPACE=REDIS_NAMESPACE,
        SHOPCORE_EVENTS_STREAM=EVENTS_STREAM,
        SHOPCORE_JWT_SECRET=JWT_SECRET,
        SHOPCORE_RATE_LIMIT_PER_MINUTE="100000000",
        SHOPCORE_AUTH_RATE_LIMIT_PER_MINUTE="100000000",
        SHOPCORE_CHECKOUT_RATE_LIMIT_PER_MINUTE="100000000",
        # Item 4 opens its 1,000 streams from one address.
        SHOPCORE_STREAM_MAX_PER_CLIENT="100000",
        SHOPCORE_MAIL_FILE=str(WORK / "mail.jsonl"),
    )
    env.update(extra)
    return env
