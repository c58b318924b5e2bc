"""What every PasswordHasher must do: a salted one-way hash that verifies only its password.

Both adapters salt (FastInsecureHasher with 8 random bytes, Argon2Hasher with 16), so the
salting test applies to each of them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.hasher import FastInsecureHasher
from adapters.security.argon2_hasher import Argon2Hasher
from shopcore.customers.ports import PasswordHasher

HASHERS: dict[str, Callable[[], PasswordHasher]] = {
    "fast-insecure": FastInsecureHasher,
    "argon2": Argon2Hasher,  # production parameters, so needs_rehash is meaningful
}
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(params=list(HASHERS), ids=list(HASHERS))
def hasher(request: pytest.FixtureRequest) -> PasswordHasher:
    return HASHERS[request.param]()


@pytest.fixture
async def password_hash(hasher: PasswordHasher) -> str:
    return await hasher.hash(PASSWORD)


async def test_verify_accepts_the_password_that_was_hashed(
    hasher: PasswordHasher, password_hash: str
) -> None:
    assert await hasher.verify(password_hash, PASSWORD) is True


@pytest.mark.parametrize(
    "wrong",
    [
        "correct horse battery staple 43",
        "Correct horse battery staple 42",
        PASSWORD + " ",
        " " + PASSWORD,
        PASSWORD[:-1],
        "",
    ],
    ids=["other", "case", "trailing-space", "leading-space", "prefix", "empty"],
)
async def test_verify_rejects_any_other_password(
    hasher: PasswordHasher, password_hash: str, wrong: str
) -> None:
    assert await hasher.verify(password_hash, wrong) is False


async def test_the_hash_does_not_contain_the_password(
    hasher: PasswordHasher, password_hash: str
) -> None:
    assert PASSWORD not in password_hash
    assert "horse" not in password_hash


async def test_two_hashes_of_one_password_differ_and_both_verify(
    hasher: PasswordHasher, password_hash: str
) -> None:
    again = await hasher.hash(PASSWORD)

    assert again != password_hash
    assert await hasher.verify(again, PASSWORD) is True


async def test_a_fresh_hash_needs_no_rehash(hasher: PasswordHasher, password_hash: str) -> None:
    assert hasher.needs_rehash(password_hash) is False


async def test_unicode_and_long_passwords_round_trip(hasher: PasswordHasher) -> None:
    for password in ["pässwörd mit Ümlauten ß", "密码密码密码密码密码密码", "x" * 512]:
        hashed = await hasher.hash(password)
        assert await hasher.verify(hashed, password) is True
        assert await hasher.verify(hashed, password.upper() + "!") is False


@pytest.mark.parametrize(
    "unreadable",
    ["", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$broken", "test-sha256$"],
)
async def test_a_hash_it_cannot_read_never_verifies(
    hasher: PasswordHasher, unreadable: str
) -> None:
    # A damaged or foreign row in the customers table must fail the login, not crash it.
    assert await hasher.verify(unreadable, PASSWORD) is False
    assert await hasher.verify(unreadable, "") is False


async def test_a_hash_made_by_another_adapter_never_verifies(hasher: PasswordHasher) -> None:
    foreign = [build() for build in HASHERS.values()]
    foreign = [other for other in foreign if type(other) is not type(hasher)]
    assert foreign

    for other in foreign:
        assert await hasher.verify(await other.hash(PASSWORD), PASSWORD) is False
