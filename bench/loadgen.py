"""A small HTTP/1.1 load generator for what wrk cannot do here:

- `fixed_rate`: requests sent on a fixed schedule (open loop, like wrk2), each latency
  measured from when the request was *due*, so a stall shows up in the percentiles instead of
  silently slowing the sender down (coordinated omission);
- `flash_sale`: many concurrent buyers, each checking out until the stock is gone;
- `sse_streams`: many open `text/event-stream` connections, timing when an event arrives.

It speaks just enough HTTP (keep-alive, Content-Length, chunked for streams) over raw asyncio
streams to stay cheap: on a 2-core machine the load generator must not eat the server's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None


def raw_request(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LatencyResult:
    rate: float
    sent: int
    ok: int
    errors: int
    latencies_ms: list[float] = field(default_factory=list)
    achieved_rate: float = 0.0

    def pct(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]


async def fixed_rate(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    rate: float,
    seconds: float,
    max_connections: int = 256,
    warmup: float = 1.0,
    ok: Callable[[int], bool] = lambda status: 200 <= status < 300,
) -> LatencyResult:
    """Send `rate` requests a second for `warmup` + `seconds`; latency counts from each
    request's due time. The first `warmup` seconds (connections opening) are not counted."""
    # A collection of the bench process's own heap (the whole dataset) would stall the sender
    # and show up as server latency: no collections while measuring.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return await _fixed_rate(
            host, port, make_request, rate, seconds, max_connections, warmup, ok
        )
    finally:
        if collecting:
            gc.enable()


async def _fixed_rate(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    rate: float,
    seconds: float,
    max_connections: int,
    warmup: float,
    ok: Callable[[int], bool],
) -> LatencyResult:
    skip = int(rate * warmup)
    total = skip + max(1, int(rate * seconds))
    result = LatencyResult(rate=rate, sent=total - skip, ok=0, errors=0)
    idle: list[Connection] = []
    slots = asyncio.Semaphore(max_connections)
    start = time.perf_counter() + 0.05

    async def one(k: int, due: float) -> None:
        async with slots:
            reused = bool(idle)
            conn = idle.pop() if idle else Connection(host, port)
            try:
                try:
                    status, _ = await conn.request(make_request(k))
                except (OSError, asyncio.IncompleteReadError):
                    if not reused:
                        raise
                    # The server closed an idle keep-alive connection: reconnect once, as
                    # any HTTP client does (the reconnect counts in the latency).
                    await conn.close()
                    status, _ = await conn.request(make_request(k))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += k >= skip
                await conn.close()
                return
            idle.append(conn)
        if k < skip:
            return
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        if ok(status):
            result.ok += 1
        else:
            result.errors += 1

    tasks = []
    for k in range(total):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    result.achieved_rate = total / (time.perf_counter() - start)  # warm-up included
    for conn in idle:
        await conn.close()
    return result


@dataclass
class FlashResult:
    sold: int
    sold_out_answers: int
    other: dict[int, int]
    seconds: float  # from the first request to the last sale
    attempts: int


async def flash_sale(
    host: str,
    port: int,
    buyers: Sequence[tuple[str, list[str]]],  # (access token, carts to check out in turn)
    body: Callable[[str], bytes],
    key: Callable[[str, int], str],
) -> FlashResult:
    """Every buyer on a connection of its own, all at once, checks out cart after cart until
    the shop answers 409 (sold out). 409 `idempotency-key-in-use` and 503 are retried."""
    sold = 0
    sold_out = 0
    other: dict[int, int] = {}
    attempts = 0
    last_sale = 0.0
    gate = asyncio.Event()

    async def buyer(token: str, carts: list[str]) -> None:
        nonlocal sold, sold_out, attempts, last_sale
        conn = Connection(host, port)
        await conn.open()
        await gate.wait()
        try:
            for cart in carts:
                for attempt in range(5):
                    attempts += 1
                    status, answer = await conn.request(
                        raw_request(
                            "POST",
                            "/v1/checkout",
                            host,
                            {
                                "Authorization": f"Bearer {token}",
                                "Content-Type": "application/json",
                                "Idempotency-Key": key(cart, attempt),
                            },
                            body(cart),
                        )
                    )
                    if status == 201:
                        sold += 1
                        last_sale = time.perf_counter()
                        break
                    if status == 409 and b"out-of-stock" in answer:
                        sold_out += 1
                        return
                    other[status] = other.get(status, 0) + 1
                    if status not in (409, 503):
                        return
                    await asyncio.sleep(0.05 * (attempt + 1))
        finally:
            await conn.close()

    tasks = [asyncio.create_task(buyer(token, carts)) for token, carts in buyers]
    await asyncio.sleep(0.5)  # every connection open before the sale starts
    start = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    return FlashResult(sold, sold_out, other, max(last_sale - start, 1e-9), attempts)


@dataclass
class Delivery:
    """One timed delivery, in wall-clock seconds (the bench, the API and Redis share the
    machine's clock), so its latency can be cut at the points the event itself records."""

    round: int
    port: int  # the instance that wrote it
    sent: float  # just before the receipt was sent
    answered: float | None  # when the receipt's answer came
    at: float | None  # the StockChanged's `at`: the handler's clock, before the commit
    appended: float | None  # the stream entry id's milliseconds: the relay's XADD
    arrived: float


@dataclass
class StreamsResult:
    opened: int
    latencies_ms: list[float]
    events: int
    deliveries: list[Delivery] = field(default_factory=list)
    collections: list[tuple[int, float]] = field(default_factory=list)  # (generation, ms)

    def pct(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def sse_streams(
    targets: Sequence[tuple[str, int]],
    paths: Sequence[str],
    streams: int,
    *,
    trigger: Callable[[int], tuple[str, Callable[[], Awaitable[None]]]],
    rounds: int,
) -> StreamsResult:
    """Open `streams` SSE connections spread over `targets` and `paths`; then `rounds` times call
    `trigger(k)`, which returns a marker and the request that changes stock, and time how
    long each stream takes, from just before that request is sent, to show an event
    containing the marker. The marker is watched for before the request goes out: the event
    may reach a stream before the request's own answer does.

    Beside each latency it keeps the wall-clock points the event carries (its `at` and its
    stream entry id), for the breakdown; and the bench process's own garbage collections
    while measuring, which would delay its reading of the streams."""
    seen: dict[str, list[float]] = {}
    opened = 0
    waiting: dict[str, tuple[int, float, float]] = {}  # marker: round, perf and wall sent
    answered: dict[int, float] = {}
    latencies: list[float] = []
    raw: list[tuple[int, int, float, str | None, str, float]] = []
    events = 0
    ready = asyncio.Event()
    collections: list[tuple[int, float]] = []
    measuring = False
    collecting_since = 0.0

    def on_collection(phase: str, info: dict[str, int]) -> None:
        nonlocal collecting_since
        if not measuring:
            return
        if phase == "start":
            collecting_since = time.perf_counter()
        else:
            collections.append(
                (info["generation"], (time.perf_counter() - collecting_since) * 1000)
            )

    async def stream(host: str, port: int, path: str) -> None:
        nonlocal opened, events
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(raw_request("GET", path, host, {"Accept": "text/event-stream"}))
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head[9:12]) != 200:
            writer.close()
            return
        opened += 1
        if opened >= streams:
            ready.set()
        last_id: str | None = None
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"id:"):
                    last_id = line[3:].strip().decode()
                if b"data:" not in line:
                    continue
                events += 1
                now = time.perf_counter()
                wall = time.time()
                text = line.decode(errors="replace")
                for marker, (k, at, sent_wall) in list(waiting.items()):
                    if marker in text:
                        latencies.append((now - at) * 1000)
                        seen.setdefault(marker, []).append(now)
                        raw.append((k, port, sent_wall, last_id, text, wall))
        finally:
            writer.close()

    tasks = [
        asyncio.create_task(stream(*targets[k % len(targets)], paths[k % len(paths)]))
        for k in range(streams)
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), timeout=30)
    gc.callbacks.append(on_collection)
    measuring = True
    try:
        for k in range(rounds):
            marker, send = trigger(k)
            waiting[marker] = (k, time.perf_counter(), time.time())
            await send()
            answered[k] = time.time()
            await asyncio.sleep(0.3)
            waiting.pop(marker, None)
    finally:
        measuring = False
        gc.callbacks.remove(on_collection)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    deliveries = [
        _delivery(k, port, sent, answered.get(k), last_id, text, wall)
        for k, port, sent, last_id, text, wall in raw
    ]
    return StreamsResult(opened, latencies, events, deliveries, collections)


def _delivery(
    k: int,
    port: int,
    sent: float,
    answered: float | None,
    last_id: str | None,
    text: str,
    arrived: float,
) -> Delivery:
    at: float | None = None
    with contextlib.suppress(ValueError, KeyError, TypeError):
        data = json.loads(text.partition("data:")[2])
        at = datetime.fromisoformat(data["at"].replace("Z", "+00:00")).timestamp()
    appended: float | None = None
    if last_id is not None and "-" in last_id and last_id.split("-")[0].isdigit():
        appended = int(last_id.split("-")[0]) / 1000
    return Delivery(
        round=k,
        port=port,
        sent=sent,
        answered=answered,
        at=at,
        appended=appended,
        arrived=arrived,
    )
