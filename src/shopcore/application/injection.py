"""Bind a handler's dependencies by parameter name, leaving (message, uow) for the bus.

Handlers declare what they need as keyword parameters (`clock: Clock`, `gateway: PaymentGateway`);
bootstrap passes one mapping of everything available, and each handler gets just its own.

That mapping is derived from the fields of the dataclasses bootstrap receives (`provided_by`),
never listed by hand: a parameter is named for the field that serves it, so adding a port is
adding a field, and a hand-kept list cannot fall out of step with the dataclasses. Two fields
of the same name would make one of them unreachable, so they are refused.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Bound = Callable[[Any, Any], Awaitable[Any]]


def provided_by(*sources: DataclassInstance) -> dict[str, object]:
    """Every field of the given dataclass instances, by field name."""
    provided: dict[str, object] = {}
    owners: dict[str, str] = {}
    for source in sources:
        owner = type(source).__name__
        for field in dataclasses.fields(source):
            if field.name in owners:
                raise ValueError(
                    f"{owners[field.name]}.{field.name} and {owner}.{field.name} share a name; "
                    "handlers could not tell them apart"
                )
            owners[field.name] = owner
            provided[field.name] = getattr(source, field.name)
    return provided


def inject(handler: Callable[..., Awaitable[Any]], dependencies: Mapping[str, object]) -> Bound:
    parameters = list(inspect.signature(handler).parameters)
    # The first parameter is the message, the second the unit of work; the rest are injected.
    wanted = parameters[2:]
    missing = [name for name in wanted if name not in dependencies]
    if missing:
        raise LookupError(
            f"{handler.__name__} needs {', '.join(missing)}, which bootstrap lacks "
            f"(it provides {', '.join(sorted(dependencies))})"
        )
    bound = {name: dependencies[name] for name in wanted}

    @functools.wraps(handler)
    async def call(message: Any, uow: Any) -> Any:
        return await handler(message, uow, **bound)

    return call
