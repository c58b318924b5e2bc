"""Keyset pagination: the cursor is the last key seen, opaque to clients (base64url)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import msgspec

from shopcore.shared.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE = 100


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    if len(cursor) > 200:
        raise InvalidInput("cursor is malformed")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput("cursor is malformed") from None


def check_limit(limit: int) -> int:
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}")
    return limit


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], str]) -> Page[T]:
    """Rows fetched with limit + 1: the extra row tells whether another page exists."""
    items = rows[:limit]
    more = len(rows) > limit and bool(items)
    return Page(items=items, next_cursor=encode_cursor(key(items[-1])) if more else None)
