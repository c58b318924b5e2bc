from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from adapters.security.argon2_hasher import (
    OWASP_MEMORY_KIB,
    OWASP_PARALLELISM,
    OWASP_TIME_COST,
    Argon2Hasher,
    default_hashing_threads,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def hasher() -> Argon2Hasher:
    return Argon2Hasher()


async def test_a_hash_is_argon2id_at_the_owasp_parameters(hasher: Argon2Hasher) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert password_hash.startswith(
        f"$argon2id$v=19$m={OWASP_MEMORY_KIB},t={OWASP_TIME_COST},p={OWASP_PARALLELISM}$"
    )
    assert PASSWORD not in password_hash


async def test_the_right_password_verifies_and_a_wrong_one_does_not(hasher: Argon2Hasher) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert await hasher.verify(password_hash, PASSWORD)
    assert not await hasher.verify(password_hash, PASSWORD + " ")
    assert not await hasher.verify(password_hash, "")


async def test_each_hash_is_salted(hasher: Argon2Hasher) -> None:
    first, second = await hasher.hash(PASSWORD), await hasher.hash(PASSWORD)

    assert first != second
    assert await hasher.verify(second, PASSWORD)


@pytest.mark.parametrize("garbage", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$bad$bad"])
async def test_a_malformed_hash_verifies_nothing_and_needs_a_rehash(
    hasher: Argon2Hasher, garbage: str
) -> None:
    assert not await hasher.verify(garbage, PASSWORD)
    assert hasher.needs_rehash(garbage)


async def test_only_hashes_made_with_other_parameters_need_a_rehash(
    hasher: Argon2Hasher,
) -> None:
    weaker = Argon2Hasher(memory_cost=1024, time_cost=1)
    old_hash = await weaker.hash(PASSWORD)

    assert hasher.needs_rehash(old_hash)
    assert await hasher.verify(old_hash, PASSWORD)
    assert not hasher.needs_rehash(await hasher.hash(PASSWORD))


async def test_hashing_runs_on_a_bounded_pool_of_its_own() -> None:
    """A burst of logins must not take every core from the event loop (bench/, item 8)."""
    hasher = Argon2Hasher(memory_cost=1024, time_cost=1, threads=1)
    real = hasher._argon2
    running, peak, names = 0, 0, set()
    lock = threading.Lock()

    class Spy:
        def hash(self, password: str) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
                names.add(threading.current_thread().name)
            try:
                time.sleep(0.01)
                return real.hash(password)
            finally:
                with lock:
                    running -= 1

    hasher._argon2 = Spy()  # type: ignore[assignment]
    hashes = await asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(6)))

    assert len(set(hashes)) == 6
    assert peak == 1
    assert all(name.startswith("argon2") for name in names)


def test_the_pool_leaves_a_core_to_the_event_loop() -> None:
    assert 1 <= default_hashing_threads() <= max(1, (os.cpu_count() or 1) - 1)
    with pytest.raises(ValueError, match="at least one thread"):
        Argon2Hasher(threads=0)
