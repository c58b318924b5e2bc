"""Item 4: from a stock change to the server-sent event on every stream that follows it.

shopcore side: 1,000 `GET /v1/inventory/stream?sku=...` streams over two instances (10 SKUs,
100 streams each); 20 times a staff stock receipt on one SKU; latency from sending the
receipt to the `stock` event on every stream following it; a worker runs the relay.
Target: p99 < 25 ms (no ceiling).

Every delivery is timed from just before the receipt is sent, not from its answer: once
events beat the answer, timing from the answer would leave all but the slowest out. The
worker's backlog is drained first, so the receipts' events do not queue behind older ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import uuid
from collections.abc import Awaitable, Callable

from bench import config, loadgen
from bench.backlog import DRAIN_DEADLINE_SECONDS, wait_drained
from bench.context import Context
from bench.preparation import tokens
from bench.report import Row, log
from shopcore.customers.model import Role

SSE_STREAMS = 1_000
SSE_SKUS = 10
SSE_ROUNDS = 20


def run(ctx: Context) -> None:
    log("item 4: stock change to server-sent event, 1,000 streams on two instances")
    port = config.API_PORT
    probe = f"/v1/inventory/stream?sku={ctx.data.products[0].variants[0].sku}"
    status = _status_of(port, probe)
    if status != 200:
        ctx.report.add(
            Row(
                "4",
                "stock change to SSE event",
                None,
                unit="ms p99",
                target="p99 < 25 ms",
                note=f"GET /v1/inventory/stream answers {status}: not measured",
            )
        )
        ctx.report.details["streams"] = {"status": status}
        return
    if "api-2" not in ctx.procs:  # run without item 6 (BENCH_ITEMS)
        ctx.start_api("api-2", config.API_PORT_2)
    worker = ctx.start_worker("worker-streams")
    wait_drained(DRAIN_DEADLINE_SECONDS)
    skus = [ctx.data.products[10 + k].variants[0].sku for k in range(SSE_SKUS)]
    staff = tokens().issue(str(uuid.uuid4()), Role.STAFF)
    result = asyncio.run(_measure_streams(skus, staff))
    worker.stop()
    p50, p99 = result.pct(50), result.pct(99)
    row = ctx.report.add(
        Row(
            "4",
            f"stock change to SSE event, {result.opened} streams on 2 instances",
            p99,
            unit="ms p99",
            target="p99 < 25 ms",
            note=f"p50 {p50:.1f} ms; {len(result.latencies_ms)} deliveries timed, "
            "from sending the stock receipt to the event on each stream"
            if p50 is not None
            else f"{result.opened} streams opened, no event timed",
        )
    )
    row.met = p99 is not None and p99 < 25 and result.opened >= SSE_STREAMS
    breakdown = _breakdown(result)
    # Every delivery's points, for reading one round against the processes' logs.
    (config.WORK / "streams-deliveries.json").write_text(
        json.dumps([dataclasses.asdict(d) for d in result.deliveries])
    )
    for name, figures in breakdown.items():
        log(f"  {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
    log(
        f"  the bench's own garbage collections while measuring: {len(result.collections)}, "
        f"{sum(ms for _, ms in result.collections):.1f} ms in all"
    )
    ctx.report.details["streams"] = {
        "opened": result.opened,
        "events": result.events,
        "timed": len(result.latencies_ms),
        "p50_ms": p50,
        "p90_ms": result.pct(90),
        "p99_ms": p99,
        "breakdown_ms": breakdown,
        "bench_gc_ms": [[generation, round(ms, 2)] for generation, ms in result.collections],
    }


def _breakdown(result: loadgen.StreamsResult) -> dict[str, dict[str, float]]:
    """Where the time goes, per delivery, cut at the wall-clock points the event itself
    carries: `at` (the receipt handler's clock, just before its transaction's last statements)
    and the stream entry id (the relay's XADD, Redis's clock, in whole milliseconds). The
    machine has one clock, so the segments add up to the latency (to the millisecond the
    entry id rounds to). Also: the receipt's own answer, and per round and instance the
    spread from the first stream to get the event to the last (the fan-out and the bench's
    own reading of 500 streams)."""
    segments: dict[str, list[float]] = {
        "send to at (request before the stock statements)": [],
        "at to XADD (commit, NOTIFY, relay claim and append)": [],
        "XADD to arrival (XREAD, fan-out, writes, bench reads)": [],
        "send to receipt answered": [],
    }
    first: dict[tuple[int, int], float] = {}
    last: dict[tuple[int, int], float] = {}
    answered: dict[int, float] = {}
    for d in result.deliveries:
        if d.at is not None and d.appended is not None:
            segments["send to at (request before the stock statements)"].append(d.at - d.sent)
            segments["at to XADD (commit, NOTIFY, relay claim and append)"].append(
                d.appended - d.at
            )
            segments["XADD to arrival (XREAD, fan-out, writes, bench reads)"].append(
                d.arrived - d.appended
            )
        if d.answered is not None:
            answered[d.round] = d.answered - d.sent
        key = (d.round, d.port)
        first[key] = min(first.get(key, d.arrived), d.arrived)
        last[key] = max(last.get(key, d.arrived), d.arrived)
    segments["send to receipt answered"] = list(answered.values())
    segments["first to last stream of an instance, per round"] = [
        last[key] - first[key] for key in first
    ]
    return {
        name: {f"p{p}": _pct([v * 1000 for v in values], p) for p in (50, 90, 99)}
        for name, values in segments.items()
        if values
    }


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _status_of(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


async def _measure_streams(skus: list[str], staff_token: str) -> loadgen.StreamsResult:
    targets = [("127.0.0.1", config.API_PORT), ("127.0.0.1", config.API_PORT_2)]
    admin = loadgen.Connection("127.0.0.1", config.API_PORT)

    def trigger(k: int) -> tuple[str, Callable[[], Awaitable[None]]]:
        sku = skus[k % len(skus)]
        body = b'{"quantity": 1}'
        request = loadgen.raw_request(
            "POST",
            f"/v1/admin/inventory/{sku}/receipts",
            f"127.0.0.1:{config.API_PORT}",
            {
                "Authorization": f"Bearer {staff_token}",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            body,
        )

        async def send() -> None:
            status, answer = await admin.request(request)
            if status != 201:
                raise RuntimeError(f"stock receipt failed: {status} {answer[:200]!r}")

        return f'"sku":"{sku}"', send

    paths = [f"/v1/inventory/stream?sku={sku}" for sku in skus]
    try:
        return await loadgen.sse_streams(
            targets, paths, SSE_STREAMS, trigger=trigger, rounds=SSE_ROUNDS
        )
    finally:
        await admin.close()
