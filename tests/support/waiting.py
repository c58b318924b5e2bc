"""Waiting for a condition in tests, without betting on the machine's speed.

A deadline here only bounds how long a failing test hangs: a passing test returns as soon as
its condition holds, so the default is generous (SHOPCORE_TEST_PATIENCE seconds, 60 unless
set). Where a deadline must tell two outcomes apart (a commit's notification vs a relay poll of
60 s), the test passes its own `within`, far from both.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

PATIENCE = float(os.environ.get("SHOPCORE_TEST_PATIENCE", "60"))


async def until(condition: Callable[[], object], within: float = PATIENCE) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"a condition did not hold within {within:.0f} s")
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = PATIENCE) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"a condition did not hold within {within:.0f} s")
        await asyncio.sleep(0.01)
