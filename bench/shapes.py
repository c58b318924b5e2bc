"""Whether two JSON answers have the same shape: the same field names, nested the same way,
with values of the same JSON types. The thin app is a ceiling only if it answers what
shopcore answers: the bench checks the listing, the product page and the checkout's order
of both apps before it times them."""

from __future__ import annotations

from typing import Any

import msgspec

Shape = str | tuple[Any, ...]


def shape(value: Any) -> Shape:
    """An object's shape is its field names (in order) with their values' shapes; an array's
    is the set of its elements' shapes (so three order lines and two are the same shape)."""
    if isinstance(value, dict):
        return ("object", *((name, shape(item)) for name, item in value.items()))
    if isinstance(value, list):
        return ("array", *sorted({shape(item) for item in value}, key=repr))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where the shapes of `a` and `b` part, as JSON paths (empty: the same shape)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: fields {list(a)} vs {list(b)}"]
        return [found for name in a for found in differences(a[name], b[name], f"{path}.{name}")]
    if isinstance(a, list) and isinstance(b, list):
        if shape(a) == shape(b):
            return []
        if a and b:
            return differences(a[0], b[0], f"{path}[0]") or [f"{path}: elements differ"]
        return [f"{path}: {len(a)} vs {len(b)} elements"]
    if shape(a) != shape(b):
        return [f"{path}: {shape(a)} vs {shape(b)}"]
    return []


def compare(shopcore: bytes, thin: bytes) -> list[str]:
    """The shape differences between two JSON bodies."""
    return differences(msgspec.json.decode(shopcore), msgspec.json.decode(thin))
