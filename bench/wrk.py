"""Running wrk and reading its report."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    raw: str


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
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
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    return WrkResult(
        rps=rps,
        requests=requests,
        non_2xx=int(non.group(1)) if non else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        p50_ms=_ms(pct["50"]) if "50" in pct else None,
        p99_ms=_ms(pct["99"]) if "99" in pct else None,
        raw=out,
    )
