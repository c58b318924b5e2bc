"""A fast password hasher for tests and examples only: salted SHA-256, NOT for production.

Production uses adapters.security.Argon2Hasher; this one keeps property tests that register
hundreds of customers fast. It satisfies the same PasswordHasher contract suite.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_PREFIX = "test-sha256$"


class FastInsecureHasher:
    async def hash(self, password: str) -> str:
        salt = secrets.token_hex(8)
        digest = hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()
        return f"{_PREFIX}{salt}${digest}"

    async def verify(self, password_hash: str, password: str) -> bool:
        if not password_hash.startswith(_PREFIX):
            return False
        salt, _, digest = password_hash[len(_PREFIX) :].partition("$")
        candidate = hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()
        return hmac.compare_digest(candidate, digest)

    def needs_rehash(self, password_hash: str) -> bool:
        return False
