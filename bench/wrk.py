"""Running wrk and reading its report."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Every unit wrk's `format_time_us` and `format_time_s` print (src/units.c), in milliseconds.
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
# A line of wrk's "Latency Distribution". wrk pads a value to a fixed width and keeps one or
# two spaces for the unit: a value in seconds, minutes or hours ends in a space (`99%  1.10s `),
# which a pattern anchored at the end of the value never matched.
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\S+)\s*$", re.M)


@dataclass
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    raw: str
    percentiles_ms: dict[str, float] = field(default_factory=dict)


def _ms(text: str) -> float | None:
    """A latency as wrk prints it, in milliseconds; None when it cannot be read (the row that
    needs it then reports it missing and not met, rather than the run failing minutes in)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", text.strip())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    script: Path | None = None,
    script_args: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return parse(out)


def parse(out: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    read = {
        _percent(pct): _ms(value)
        for pct, value in _PERCENTILE.findall(out.partition("Latency Distribution")[2])
    }
    percentiles = {pct: ms for pct, ms in read.items() if ms is not None}
    return WrkResult(
        rps=rps,
        requests=requests,
        non_2xx=int(non.group(1)) if non else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        p50_ms=percentiles.get("50"),
        p99_ms=percentiles.get("99"),
        raw=out,
        percentiles_ms=percentiles,
    )


def _percent(text: str) -> str:
    return f"{float(text):g}"
