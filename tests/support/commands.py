"""What a command class declares it returns: the argument of its `Command[...]` base."""

from __future__ import annotations

import typing
from typing import Any

from shopcore.shared.messages import Command


def declared_result(kind: type[Command[Any]]) -> Any:
    """`Order` for `class PlaceOrder(Command[Order])`; NoneType for `Command[None]`."""
    bases = [
        base for base in getattr(kind, "__orig_bases__", ()) if typing.get_origin(base) is Command
    ]
    assert bases, f"{kind.__name__} does not say what it returns: subclass Command[Result]"
    (result,) = typing.get_args(bases[0])
    return result
