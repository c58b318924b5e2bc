"""Item 1: catalog listing (20 items) and product page, at their peak, cached and uncached.

shopcore side: wrk, 32 connections, 8 s, on the API as configured (cache on) and on a second
instance with `SHOPCORE_CATALOG_CACHE_SECONDS=0` (uncached).
Ceilings: cached reads against `bench/ceiling_app.py`, a bare Litestar app served by granian
as `shopcore serve` is, returning **the very bytes** the API returned for the same URL
(checked), no middleware, no I/O; uncached reads against the thin app (`bench/thin_app.py`),
which reads the same product from its own tables in one statement and answers the same
JSON (shape checked; the bytes are compared too and reported).
Targets: cached >= 0.7x the bare app; uncached >= 0.5x the thin app. Beside them, the CPU
milliseconds per uncached read of the uncached instance and of the thin app.

Each ceiling is measured first and stopped before shopcore is loaded, so the two never share
the cores. The cached listing's peak is what item 8 reads at a quarter of (`listing_rps`).
"""

from __future__ import annotations

from pathlib import Path

from bench import config, procs, shapes, wrk
from bench.context import Context
from bench.report import Row, fmt, log, missing, wrk_summary
from bench.traffic import LISTING, Peak, api_url, measured_read, read_peak

LABELS = {"listing": "catalog listing (20 items)", "detail": "product page"}


def run(ctx: Context) -> None:
    log("item 1: catalog reads against the bare endpoint (cached) and the thin app (uncached)")
    port = config.API_PORT
    paths = (("listing", LISTING), ("detail", ctx.data.detail_path()))
    served = {name: procs.get(api_url(port, path)) for name, path in paths}
    bare = _bare_peaks(ctx, served, paths)
    cache = _has_setting("catalog_cache_seconds")
    ctx.report.details["catalog_cache"] = cache
    cached = {name: read_peak(port, path, ctx.durations) for name, path in paths}
    thin_proc = ctx.start_thin()
    try:
        answered = {name: procs.get(api_url(config.THIN_PORT, path)) for name, path in paths}
        thin = {
            name: measured_read(config.THIN_PORT, path, ctx.durations, thin_proc)
            for name, path in paths
        }
    finally:
        thin_proc.stop()
    uncached_proc = ctx.start_api(
        "api-uncached", config.API_PORT_2, SHOPCORE_CATALOG_CACHE_SECONDS="0"
    )
    try:
        uncached = {
            name: measured_read(config.API_PORT_2, path, ctx.durations, uncached_proc)
            for name, path in paths
        }
    finally:
        uncached_proc.stop()
    for name, _ in paths:
        differs = shapes.compare(served[name], answered[name])
        ctx.report.details[f"thin_{name}"] = {
            "same_shape": not differs,
            "shape_differences": differs,
            "same_bytes": served[name] == answered[name],
        }
        if differs:
            ctx.report.notes.append(f"the thin app's {name} differs in shape: {differs[:3]}")
        _rows(ctx, name, cache, cached[name], bare[name], uncached[name], thin[name])
    for name, _ in paths:
        _cpu_row(ctx, name, uncached[name], thin[name])
    ctx.report.details["reads"] = (
        {f"{k}_cached": wrk_summary(v) for k, v in cached.items()}
        | {f"{k}_uncached": wrk_summary(v.result) for k, v in uncached.items()}
        | {f"ceiling_{k}": wrk_summary(v) for k, v in bare.items()}
        | {f"thin_{k}": wrk_summary(v.result) for k, v in thin.items()}
    )
    ctx.report.details["listing_rps"] = cached["listing"].rps


def _rows(
    ctx: Context,
    name: str,
    cache: bool,
    cached: wrk.WrkResult,
    bare: wrk.WrkResult,
    uncached: Peak,
    thin: Peak,
) -> None:
    label = LABELS[name]
    row = Row(
        "1",
        f"{label}, cached vs bare endpoint" if cache else f"{label}, no cache in the API",
        cached.rps,
        bare.rps,
        target=">= 0.7x",
        note=f"p99 {fmt(cached.p99_ms)} ms; bare p99 {fmt(bare.p99_ms)} ms",
        missing=missing(p99=cached.p99_ms, bare_p99=bare.p99_ms),
    )
    row.met = bool(cache and row.ratio is not None and row.ratio >= 0.7)
    ctx.report.add(row)
    cold, ceiling = uncached.result, thin.result
    same = not ctx.report.details.get(f"thin_{name}", {}).get("shape_differences")
    note = f"p99 {fmt(cold.p99_ms)} ms; thin p99 {fmt(ceiling.p99_ms)} ms"
    if not same:
        note += "; **the thin app's JSON differs in shape: not comparable**"
    row = Row(
        "1",
        f"{label}, uncached vs thin app",
        cold.rps,
        ceiling.rps,
        target=">= 0.5x",
        note=note,
        missing=missing(p99=cold.p99_ms, thin_p99=ceiling.p99_ms),
    )
    row.met = row.ratio is not None and row.ratio >= 0.5 and same
    ctx.report.add(row)


def _cpu_row(ctx: Context, name: str, uncached: Peak, thin: Peak) -> None:
    ctx.report.add(
        Row(
            "1",
            f"CPU per uncached {'listing' if name == 'listing' else 'product page'}: "
            "API process vs thin app",
            uncached.cpu_ms,
            thin.cpu_ms,
            unit="CPU ms",
            note=f"lower is better; ratio = shopcore / thin; "
            f"{uncached.result.requests:,} and {thin.result.requests:,} reads",
            missing=missing(thin_cpu=thin.cpu_ms),
        )
    )


def _bare_peaks(
    ctx: Context, served: dict[str, bytes], paths: tuple[tuple[str, str], ...]
) -> dict[str, wrk.WrkResult]:
    """The bare app's peaks, on the bytes the API served; it answers them unchanged."""
    ceiling_dir = config.WORK / "ceiling"
    ceiling_dir.mkdir(exist_ok=True)
    for name, body in served.items():
        (ceiling_dir / f"{name}.json").write_bytes(body)
        ctx.report.details[f"{name}_bytes"] = len(body)
    ceiling = _start_bare(ceiling_dir)
    try:
        peaks: dict[str, wrk.WrkResult] = {}
        for name, path in paths:
            peaks[name] = read_peak(config.CEILING_PORT, path, ctx.durations)
            assert procs.get(api_url(config.CEILING_PORT, path)) == served[name]
    finally:
        ceiling.stop()
    return peaks


def _start_bare(ceiling_dir: Path) -> procs.Proc:
    """The bare app, serving the bytes saved in `ceiling_dir` under the API's paths."""
    env = {**config.api_env(), "BENCH_CEILING_DIR": str(ceiling_dir)}
    return procs.start_granian("ceiling", "bench.ceiling_app:app", config.CEILING_PORT, env)


def _has_setting(name: str) -> bool:
    from apps.settings import Settings

    return hasattr(Settings(), name)
