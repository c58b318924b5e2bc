"""What the processes' logs say about the answers that went wrong: each 500 an API process
logged ("unhandled error on <route>"), as the route, the exception it ended with and the
innermost frame of the shop's own code, so a failing run names the code, not only the
symptom."""

from __future__ import annotations

import re
from pathlib import Path

_LOGGED = re.compile(r"^(ERROR|WARNING|INFO|DEBUG|CRITICAL|---) ")
_FRAME = re.compile(r'^\s+File ".*?/((?:src|apps)/[^"]+)", line (\d+), in (\S+)')
_ERROR = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b")


def server_errors(directory: Path) -> list[str]:
    found = []
    for log in sorted(directory.glob("api-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines):
            if "unhandled error on " in line:
                route = line.split("unhandled error on ", 1)[1]
                error, frame = _traceback(lines[number + 1 :])
                found.append(f"{log.stem}: {route}: {error} (in {frame})")
    return found


def _traceback(lines: list[str]) -> tuple[str, str]:
    """The exception a logged traceback ends with, and its innermost frame in the shop."""
    error, frame = "?", "?"
    for line in lines:
        if _LOGGED.match(line):
            break
        if (match := _FRAME.match(line)) is not None:
            frame = f"{match[1]}:{match[2]} {match[3]}"
        elif _ERROR.match(line):
            error = line[:160]
    return error, frame
