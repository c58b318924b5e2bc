"""Starting and stopping the processes under test, and reading their memory and CPU."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import config, cpu

# How `shopcore serve` runs (one granian worker process, ASGI, uvloop, no websockets, no
# access log): the ceilings are served the same way, so the server is not in the ratio.
GRANIAN_FLAGS = (
    "--interface",
    "asgi",
    "--workers",
    "1",
    "--loop",
    "uvloop",
    "--no-ws",
    "--no-access-log",
    "--log-level",
    "warning",
)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    peak_rss_kib: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_peak(self) -> int:
        """The largest VmHWM of the process and those below it (granian serves in a child
        process), in KiB: what it ever had resident; the last figure read once it is gone."""
        stats = cpu.read_stats()
        peaks = [vm_hwm(pid) for pid in cpu.descendants(self.pid, stats)]
        self.peak_rss_kib = max([self.peak_rss_kib, *peaks])
        return self.peak_rss_kib

    def cpu_seconds(self) -> float:
        """CPU seconds the process and those below it have used so far (bench/cpu.py)."""
        return cpu.cpu_seconds(self.pid)

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is not None:
            return
        self.rss_peak()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


def children(pid: int) -> list[int]:
    try:
        return [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return []


def vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start(name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
    config.WORK.mkdir(parents=True, exist_ok=True)
    log = config.WORK / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        list(argv), env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=config.WORK
    )
    return Proc(name, popen, log)


def shopcore(*args: str) -> list[str]:
    return [str(config.VENV_BIN / "shopcore"), *args]


def start_api(name: str, port: int, env: dict[str, str] | None = None) -> Proc:
    proc = start(name, shopcore("serve", "--port", str(port), "--no-demo"), env or config.api_env())
    wait_http(f"http://127.0.0.1:{port}/health/ready", proc)
    return proc


def start_granian(name: str, target: str, port: int, env: dict[str, str]) -> Proc:
    """`target` (module:app) served by granian as `shopcore serve` serves the API."""
    argv = [
        str(config.VENV_BIN / "granian"),
        *GRANIAN_FLAGS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        target,
    ]
    proc = start(name, argv, {**env, "PYTHONPATH": str(config.ROOT)})
    wait_http(f"http://127.0.0.1:{port}/health/ready", proc)
    return proc


def wait_http(url: str, proc: Proc | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(
                f"{proc.name} exited; see {proc.log}:\n{proc.log.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def ensure_tools() -> list[str]:
    """wrk and nginx come from Debian's packages; install them when missing."""
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if not missing and Path("/usr/sbin/nginx").exists():
        return []
    packages = sorted({"wrk" if t == "wrk" else "nginx" for t in missing} or {"nginx"})
    if os.geteuid() != 0:
        sys.exit(f"bench needs {', '.join(packages)}: apt-get install -y {' '.join(packages)}")
    print(f"installing {', '.join(packages)} from Debian's packages (apt-get install -y ...)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
    return packages


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"
