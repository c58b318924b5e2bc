"""`python -m bench.brokers`: the comparison of the package docstring, printed and written to
`bench/brokers/results/latest.md` and `latest.json`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.brokers.broker import Broker
from bench.brokers.harness import RELAY_BATCH, latency_at, relay_throughput
from bench.brokers.private_redis import private_redis
from bench.brokers.report import table

BROKERS = ("redis", "redis-private", "redis-aof-everysec", "redis-aof-always", "nats", "rabbitmq")
NAMES = {
    "redis": "Redis Streams (shared, no persistence)",
    "redis-private": "Redis Streams, private, no persistence",
    "redis-aof-everysec": "Redis Streams, AOF everysec",
    "redis-aof-always": "Redis Streams, AOF always",
    "nats": "NATS JetStream (file)",
    "rabbitmq": "RabbitMQ (durable, confirms)",
}
PRIVATE_PORTS = {"redis-aof-everysec": 0, "redis-aof-always": 1, "redis-private": 2}
RESULTS = Path(__file__).parent / "results"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _rates(text: str) -> list[int]:
    return [_positive(part) for part in text.split(",")]


def _brokers(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in BROKERS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown {unknown}: choose from {', '.join(BROKERS)}")
    return chosen


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.brokers", description=__doc__)
    parser.add_argument("--events", type=_positive, default=20_000, help="relay run size")
    parser.add_argument("--seconds", type=_positive, default=8, help="each latency run")
    parser.add_argument("--rates", type=_rates, default=[500, 2_000], help="e.g. 500,2000")
    parser.add_argument("--repeat", type=_positive, default=3, help="runs of every broker")
    parser.add_argument("--brokers", type=_brokers, default=list(BROKERS), help=",".join(BROKERS))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--private-redis-port", type=_positive, default=16_391)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.events < RELAY_BATCH:
        parser.error(f"--events must be at least one batch ({RELAY_BATCH})")
    return args


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return "unknown"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "unknown"
    )


def _broker(name: str, args: argparse.Namespace, redis_url: str) -> Broker:
    if name.startswith("redis"):
        from bench.brokers.redis_streams import RedisStreamsBroker

        return RedisStreamsBroker(NAMES[name], redis_url, "bench-brokers")
    if name == "nats":
        from bench.brokers.nats_jetstream import NatsJetStreamBroker

        return NatsJetStreamBroker(args.nats_url, "BENCH_BROKERS")
    from bench.brokers.rabbitmq import RabbitMqBroker

    return RabbitMqBroker(args.amqp_url, "bench-brokers")


@asynccontextmanager
async def _closing(broker: Broker) -> AsyncIterator[Broker]:
    """The broker, whose keys, streams or queues are deleted however the run ends."""
    try:
        yield broker
    finally:
        await broker.close()


@asynccontextmanager
async def _open(name: str, args: argparse.Namespace) -> AsyncIterator[Broker]:
    """The broker `name`; a private redis-server for the `redis-*` ones, stopped after."""
    if not name.startswith("redis-"):
        async with _closing(_broker(name, args, args.redis_url)) as broker:
            yield broker
        return
    fsync = name.removeprefix("redis-aof-") if "aof" in name else None
    port = args.private_redis_port + PRIVATE_PORTS[name]
    async with private_redis(port, fsync) as url, _closing(_broker(name, args, url)) as broker:
        yield broker


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every broker stays connected for the whole run, and each measurement takes the brokers
    one after the other (relay throughput of all, then latency at each rate of all), so the
    figures compared are seconds apart, not minutes, on a machine whose load moves."""
    results: dict[str, dict[str, Any]] = {
        NAMES[name]: {"throughput": [], "latency": {str(rate): [] for rate in args.rates}}
        for name in args.brokers
    }
    repeats = []
    async with AsyncExitStack() as stack:
        brokers = [await stack.enter_async_context(_open(name, args)) for name in args.brokers]
        for repeat in range(args.repeat):
            load_before = _load()
            for broker, name in zip(brokers, args.brokers, strict=True):
                throughput = await relay_throughput(broker, args.events)
                results[NAMES[name]]["throughput"].append(round(throughput.per_second, 1))
                print(f"[{repeat + 1}] {broker.name}: relay {throughput.per_second:,.0f} events/s")
            for rate in args.rates:
                for broker, name in zip(brokers, args.brokers, strict=True):
                    latency = await latency_at(broker, rate, args.seconds)
                    record = asdict(latency) | {"lost": latency.lost}
                    results[NAMES[name]]["latency"][str(rate)].append(record)
                    print(
                        f"[{repeat + 1}] {broker.name} @{rate}/s: p50 {latency.p50_ms:.1f} ms,"
                        f" p99 {latency.p99_ms:.1f} ms, lost {latency.lost}"
                        if latency.p50_ms is not None and latency.p99_ms is not None
                        else f"[{repeat + 1}] {broker.name} @{rate}/s: nothing received"
                    )
            repeats.append({"load_before": load_before, "load_after": _load()})
    return {"results": results, "repeats": repeats}


def render(run: dict[str, Any]) -> str:
    baseline = NAMES["redis"] if NAMES["redis"] in run["results"] else next(iter(run["results"]))
    settings = run["settings"]
    return "\n".join(
        [
            f"# Brokers compared: {run['date']}",
            "",
            f"`python -m bench.brokers`, {run['seconds']:.0f} s, on {run['cores']} cores"
            f" (shared). Load average (1, 5, 15 min) before {run['load_before']},"
            f" after {run['load_after']}; per repeat: "
            + "; ".join(f"{r['load_before'][0]} -> {r['load_after'][0]}" for r in run["repeats"])
            + ".",
            "",
            f"Relay: {settings['events']:,} `OrderPlaced` events ({settings['payload_bytes']}"
            f" bytes of JSON each), batches of {RELAY_BATCH}, each confirmed before the next."
            f" Latency: {settings['seconds']} s at each rate after 1 s of warm-up, open loop, from"
            " the event's due commit to its acknowledgement by each of 2 groups. Figures:"
            f" median (lowest-highest) of {settings['repeat']} repeats. Versions: "
            + ", ".join(f"{k} {v}" for k, v in run["versions"].items())
            + ".",
            "",
            table(run["results"], baseline, settings["rates"]),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from bench.brokers.payload import order_placed

    started = time.monotonic()
    load_before = _load()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measured = asyncio.run(measure(args))
    run: dict[str, Any] = {
        "date": date,
        "seconds": time.monotonic() - started,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": _load(),
        "versions": {
            "redis": _version(["redis-server", "--version"]).split(" sha=")[0],
            "nats": _version(["nats-server", "--version"]),
            "rabbitmq": _version(["rabbitmqctl", "version"]),
        },
        "settings": {
            "events": args.events,
            "seconds": args.seconds,
            "rates": args.rates,
            "repeat": args.repeat,
            "brokers": args.brokers,
            "payload_bytes": len(order_placed(1).payload),
        },
        **measured,
    }
    text = render(run)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.md").write_text(text)
    (args.output / "latest.json").write_text(json.dumps(run, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
