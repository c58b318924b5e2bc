"""The password policy (OWASP ASVS 2.1): length over composition rules, no common passwords."""

from __future__ import annotations

import unicodedata

from shopcore.shared.errors import WeakPassword

MIN_LENGTH = 12
MAX_LENGTH = 128  # argon2 would take more, but an unbounded input is a denial-of-service lever
_COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiop12",
        "iloveyou1234",
        "passwordpassword",
        "administrator",
        "letmeinletmein",
        "welcome12345",
        "changeme1234",
        "correcthorsebatterystaple",
    }
)


def check_password(password: str, email: str) -> str:
    """The password as it will be hashed (NFKC-normalised), or WeakPassword with the reason."""
    normalized = unicodedata.normalize("NFKC", password)
    if not MIN_LENGTH <= len(normalized) <= MAX_LENGTH:
        raise WeakPassword(f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    if len(set(normalized)) < 4:
        raise WeakPassword("a password needs at least 4 different characters")
    lowered = normalized.lower()
    if lowered in _COMMON:
        raise WeakPassword("this password is too common")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        raise WeakPassword("a password must not contain the email address")
    return normalized
