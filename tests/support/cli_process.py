"""`shopcore` commands (`python -m apps.cli ...`) run as real processes by the system tests:
started, stopped with SIGTERM as an orchestrator stops them, and never left behind."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


@asynccontextmanager
async def shopcore_process(
    *args: str, env: Mapping[str, str], capture_stderr: bool = True
) -> AsyncIterator[Any]:
    """`shopcore *args` in a process of its own; killed on leaving the block if still running
    (a test that failed before stopping it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "apps.cli", *args, env=dict(env),
        stderr=asyncio.subprocess.PIPE if capture_stderr else None,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stopped(process: Any, *, within: float) -> tuple[int, str]:
    """SIGTERM, then the process's exit code and what it wrote to stderr (when captured)."""
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(within):
        code: int = await process.wait()
    log = (await process.stderr.read()).decode() if process.stderr is not None else ""
    return code, log


def confirmations_sent(mail: Path) -> list[str]:
    """The orders whose confirmation email went out, in order (SHOPCORE_MAIL_FILE)."""
    if not mail.exists():
        return []
    keys = [json.loads(line)["dedup_key"] for line in mail.read_text().splitlines()]
    return [key.removeprefix("order-confirmation:") for key in keys]
