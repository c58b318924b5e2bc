"""Key names that Redis Cluster keeps together.

Redis Cluster puts every key in one of 16,384 hash slots, by the CRC16 of its name or, when
the name holds a hash tag (the text between its first `{` and the first `}` after it, if not
empty), of that tag alone. A script, a MULTI or a multi-key command may only touch keys of one
slot. So keys that one script touches are named with one tag (`together`).

A name without a tag hashes whole, and `{name}:suffix` hashes `name`: the same slot. So a key
that must live beside an existing key (the stream's `:fed` beside the stream) gets the stream's
name as its tag, and the stream keeps its name. A single server ignores the braces.
"""

from __future__ import annotations


def hash_tag(name: str) -> str | None:
    """The part of `name` Redis Cluster hashes, when that is not the whole name."""
    start = name.find("{")
    if start < 0:
        return None
    end = name.find("}", start + 1)
    if end < 0 or end == start + 1:
        return None
    return name[start + 1 : end]


def together(name: str) -> str:
    """A prefix for keys that must share `name`'s slot: `name` itself when it has a hash tag
    already, else `{name}` (which hashes as `name` does)."""
    if hash_tag(name) is not None:
        return name
    if "{" in name or "}" in name:
        # `{a{}b}` would hash `a{`, not `a{}b`: no prefix shares such a name's slot.
        raise ValueError(f"a Redis key name with braces needs a hash tag in them: {name!r}")
    return "{" + name + "}"
