"""`python -m tests.system.slow_server PORT JOURNAL [GRACE]`: an app served as `shopcore serve`
serves the API (apps/server.py), with a request that takes its time: `GET /slow` answers after
2 s, and `GET /stuck` never does; GRACE: the shutdown grace in seconds (default 30).

Each worker writes to JOURNAL, one line per fact, as it happens: `started`, `slow begun`,
`slow answered`, `shutdown` (the app's lifespan shutdown).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from apps.server import serve

SLOW_SECONDS = 2.0


def _note(fact: str) -> None:
    with Path(sys.argv[2]).open("a", encoding="utf-8") as journal:
        journal.write(fact + "\n")


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _note("started")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _note("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/stuck":
        _note("stuck begun")
        await asyncio.sleep(3600)
    if scope["path"] == "/slow":
        _note("slow begun")
        await asyncio.sleep(SLOW_SECONDS)
        _note("slow answered")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})


def slow_app() -> Any:
    return _app


if __name__ == "__main__":
    grace = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    serve("127.0.0.1", int(sys.argv[1]), 1, app=slow_app, grace_seconds=grace)
