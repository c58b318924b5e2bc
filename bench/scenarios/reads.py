"""Item 1: catalog listing (20 items) and product detail, at their peak.

shopcore side: wrk, 32 connections, 8 s, on the API as configured (cache on) and on a second
instance with `SHOPCORE_CATALOG_CACHE_SECONDS=0` (uncached).
Ceiling: `bench/ceiling_app.py`, a bare Litestar app on the same uvicorn settings returning
**the very bytes** the API returned for the same URL (checked), no middleware, no I/O.
Target: the cached reads at 0.7x of the ceiling or more.

The ceiling is measured first and stopped before the API is loaded, so the two never share
the cores. The cached listing's peak is what item 8 reads at a quarter of (`listing_rps`).
"""

from __future__ import annotations

from pathlib import Path

from bench import config, procs, wrk
from bench.context import Context
from bench.report import Row, fmt, log, missing, wrk_summary
from bench.traffic import LISTING, api_url, read_peak


def run(ctx: Context) -> None:
    log("item 1: catalog reads against the bare Litestar ceiling")
    port = config.API_PORT
    detail = ctx.data.detail_path()
    paths = (("listing", LISTING), ("detail", detail))
    served = {name: procs.get(api_url(port, path)) for name, path in paths}
    ceiling_dir = config.WORK / "ceiling"
    ceiling_dir.mkdir(exist_ok=True)
    for name, body in served.items():
        (ceiling_dir / f"{name}.json").write_bytes(body)
        ctx.report.details[f"{name}_bytes"] = len(body)
    ceiling = _start_ceiling(ceiling_dir)
    try:
        ceil: dict[str, wrk.WrkResult] = {}
        for name, path in paths:
            ceil[name] = read_peak(config.CEILING_PORT, path, ctx.durations)
            assert procs.get(api_url(config.CEILING_PORT, path)) == served[name]
    finally:
        ceiling.stop()
    cache = _has_setting("catalog_cache_seconds")
    ctx.report.details["catalog_cache"] = cache
    results: dict[str, wrk.WrkResult] = {}
    # Cached: the instance as configured (cache on, when the API has one).
    for name, path in paths:
        results[f"{name}_cached"] = read_peak(port, path, ctx.durations)
    # Uncached: a second instance with the cache turned off.
    uncached = ctx.start_api("api-uncached", config.API_PORT_2, SHOPCORE_CATALOG_CACHE_SECONDS="0")
    try:
        for name, path in paths:
            results[f"{name}_uncached"] = read_peak(config.API_PORT_2, path, ctx.durations)
    finally:
        uncached.stop()
    for name, _ in paths:
        label = "catalog listing (20 items)" if name == "listing" else "product detail"
        cached = results[f"{name}_cached"]
        row = Row(
            "1",
            f"{label}, cached" if cache else f"{label}, no cache in the API",
            cached.rps,
            ceil[name].rps,
            target=">= 0.7x",
            note=f"p99 {fmt(cached.p99_ms)} ms; ceiling p99 {fmt(ceil[name].p99_ms)} ms",
            missing=missing(p99=cached.p99_ms, ceiling_p99=ceil[name].p99_ms),
        )
        row.met = bool(cache and row.ratio is not None and row.ratio >= 0.7)
        ctx.report.add(row)
        cold = results[f"{name}_uncached"]
        ctx.report.add(
            Row(
                "1",
                f"{label}, uncached",
                cold.rps,
                ceil[name].rps,
                note=f"p99 {fmt(cold.p99_ms)} ms",
                missing=missing(p99=cold.p99_ms),
            )
        )
    ctx.report.details["reads"] = {k: wrk_summary(v) for k, v in results.items()} | {
        f"ceiling_{k}": wrk_summary(v) for k, v in ceil.items()
    }
    ctx.report.details["listing_rps"] = results["listing_cached"].rps


def _start_ceiling(ceiling_dir: Path) -> procs.Proc:
    """The bare app, serving the bytes saved in `ceiling_dir` under the API's paths."""
    env = {**config.api_env(), "BENCH_CEILING_DIR": str(ceiling_dir)}
    argv = [
        str(config.VENV_BIN / "uvicorn"),
        "bench.ceiling_app:app",
        "--port",
        str(config.CEILING_PORT),
        "--no-server-header",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    env["PYTHONPATH"] = str(config.ROOT)
    ceiling = procs.start("ceiling", argv, env)
    procs.wait_http(api_url(config.CEILING_PORT, "/health/ready"), ceiling)
    return ceiling


def _has_setting(name: str) -> bool:
    from apps.settings import Settings

    return hasattr(Settings(), name)
