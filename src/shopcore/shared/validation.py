"""Small checks shared by every context's model; each raises InvalidInput with a clear message."""

from __future__ import annotations

import re
import unicodedata

from shopcore.shared.errors import InvalidInput

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def text(value: str, field: str, *, min_length: int = 1, max_length: int) -> str:
    """Trimmed, NFC-normalised text without control characters, within length bounds."""
    cleaned = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in "\n\t" for ch in cleaned):
        raise InvalidInput(f"{field} contains control characters")
    if not min_length <= len(cleaned) <= max_length:
        raise InvalidInput(f"{field} must be {min_length} to {max_length} characters long")
    return cleaned


def slug(value: str, field: str = "slug") -> str:
    if len(value) > 100 or not SLUG.fullmatch(value):
        raise InvalidInput(f"{field} must be lowercase words joined by hyphens (at most 100)")
    return value


def sku(value: str) -> str:
    if not SKU.fullmatch(value):
        raise InvalidInput(f"invalid SKU {value[:80]!r}: letters, digits, '.', '_', '-' (1-64)")
    return value


def quantity(value: int, field: str = "quantity", *, minimum: int = 1, maximum: int) -> int:
    if type(value) is not int or not minimum <= value <= maximum:
        raise InvalidInput(f"{field} must be a whole number from {minimum} to {maximum}")
    return value
