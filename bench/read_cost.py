"""What one uncached catalog read costs, in process, shopcore's API beside the thin app, on the
data of the last bench run:

    .venv/bin/python -m bench.read_cost detail [N]     # N product pages, cache off
    .venv/bin/python -m bench.read_cost listing [N]    # N first listing pages, cache off
    .venv/bin/python -m bench.read_cost detail [N] --profile   # and a pyinstrument profile

Each app is called as the ASGI server calls it (a scope, `receive`, `send`; no HTTP client,
whose own CPU would dwarf a read's), one request after another, after a warm-up, and the
process's CPU time is divided by the requests. The two apps are measured in turns (three
rounds, A/B), so both see the machine in the same state; the ratio is what the bench's CPU row
shows, without granian's share. Quote the load average beside it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench import config

Call = Callable[[str], Awaitable[tuple[int, bytes]]]


def caller(app: Any) -> Call:
    async def call(path: str) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    return call


def cost(call: Call, paths: list[str]) -> Callable[[], Awaitable[float]]:
    async def measure() -> float:
        started = time.process_time()
        for path in paths:
            status, _ = await call(path)
            assert status == 200, status
        return (time.process_time() - started) / len(paths) * 1000

    return measure


async def main(what: str, count: int, profile: bool) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ["BENCH_THIN_DSN"] = config.THIN_DSN
    from apps.api import build_app
    from apps.components import Components
    from apps.settings import Settings
    from bench import thin_app

    env = config.api_env(SHOPCORE_CATALOG_CACHE_SECONDS="0")
    app = build_app(Components(Settings.from_env(env)))
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT $1", count
        )
    ]
    await conn.close()
    paths = [f"/v1/products/{i}" for i in ids] if what == "detail" else ["/v1/products"] * count
    async with app.lifespan(), thin_app.app.lifespan():
        ours, thin = caller(app), caller(thin_app.app)
        first = await ours(paths[0])
        # Same shape; units available may differ where the bench's recorded checkout took some.
        assert first[0] == (await thin(paths[0]))[0] == 200
        for path in paths[: min(200, count)]:  # warm pools, prepared statements, caches
            await ours(path)
            await thin(path)
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled", interval=0.0002)
            profiler.start()
            await cost(ours, paths)()
            profiler.stop()
            profiler.print(show_all=bool(os.environ.get("PROFILE_ALL")), short_mode=False)
            return
        # One after another, each pair measured together: not a comprehension of gathers.
        figures = [(await cost(ours, paths)(), await cost(thin, paths)()) for _ in range(3)]
    load = os.getloadavg()
    for shopcore, thin_ms in figures:
        print(
            f"{what}: shopcore {shopcore:.3f} CPU ms, thin app {thin_ms:.3f} CPU ms, "
            f"{shopcore / thin_ms:.2f}x"
        )
    best = min(s for s, _ in figures), min(t for _, t in figures)
    print(
        f"best of 3: {best[0]:.3f} vs {best[1]:.3f} CPU ms = {best[0] / best[1]:.2f}x; "
        f"{count} reads each; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    import uvloop  # as granian serves (procs.GRANIAN_FLAGS: --loop uvloop)

    uvloop.run(
        main(
            args[0] if args else "detail",
            int(args[1]) if len(args) > 1 else 2000,
            "--profile" in sys.argv,
        )
    )
