"""argon2id password hashing at OWASP's recommended parameters, off the event loop.

OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1. A hash costs tens of
milliseconds of CPU, so it runs in a worker thread (argon2-cffi releases the GIL) and a burst
of logins does not stall every other request on the loop.

Those threads are few: by default one less than the machine has cores (at least one), in one
pool per process. asyncio's default pool would run up to cores + 4 hashes at once, and a burst
of logins then took every core from the event loop: on 2 cores, catalog reads served next to
logins went from a p99 of milliseconds to seconds (bench/README.md, item 8). With the bound,
logins queue for their thread and everything else keeps a core.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1


def default_hashing_threads() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per size and process, shared by every hasher in it."""
    pool = _pools.get(threads)
    if pool is None:
        pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
    return pool


class Argon2Hasher:
    def __init__(
        self,
        *,
        memory_cost: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
        parallelism: int = OWASP_PARALLELISM,
        threads: int | None = None,
    ) -> None:
        self._threads = threads if threads is not None else default_hashing_threads()
        if self._threads < 1:
            raise ValueError("hashing needs at least one thread")
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pool(self._threads), self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        pool = _pool(self._threads)
        try:
            return await loop.run_in_executor(pool, self._argon2.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
