"""Generated blocks inside hand-written pages.

A page marks each generated part with a pair of HTML comments, which Markdown leaves out of
the rendered page:

    <!-- generated:start NAME -->
    ... replaced by `shopcore docs` ...
    <!-- generated:end -->

Everything outside the markers is hand-written and kept as it is. A page that lacks a block
the generator has content for, or holds a block it has none for, is an error: the two must
name the same blocks, so no generated part can be dropped or left behind unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

START = "<!-- generated:start {name} -->"
END = "<!-- generated:end -->"
NOTICE = "<!-- Written by `shopcore docs` from the code; edit the code or the generator. -->"

_BLOCK = re.compile(
    r"^<!-- generated:start (?P<name>[a-z0-9][a-z0-9-]*) -->\n.*?^<!-- generated:end -->$",
    re.DOTALL | re.MULTILINE,
)


class MarkerError(ValueError):
    """A page's generated blocks do not match what the generator produces for it."""


def block_names(page: str) -> list[str]:
    return [match.group("name") for match in _BLOCK.finditer(page)]


def fill(page: str, blocks: Mapping[str, str], *, where: str) -> str:
    """`page` with the content of each named block replaced by `blocks[name]`."""
    names = block_names(page)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    missing = sorted(set(blocks) - set(names))
    unknown = sorted(set(names) - set(blocks))
    problems = []
    if duplicated:
        problems.append(f"blocks marked twice: {', '.join(duplicated)}")
    if missing:
        problems.append(f"no markers for: {', '.join(missing)}")
    if unknown:
        problems.append(f"markers the generator has nothing for: {', '.join(unknown)}")
    if problems:
        raise MarkerError(f"{where}: " + "; ".join(problems))

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        body = blocks[name].strip("\n")
        return "\n".join([START.format(name=name), NOTICE, "", body, "", END])

    return _BLOCK.sub(replace, page)
