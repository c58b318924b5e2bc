from __future__ import annotations

import pytest

from adapters.security.argon2_hasher import (
    OWASP_MEMORY_KIB,
    OWASP_PARALLELISM,
    OWASP_TIME_COST,
    Argon2Hasher,
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
