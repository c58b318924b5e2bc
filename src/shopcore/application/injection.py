"""Bind a handler's dependencies by parameter name, leaving (message, uow) for the bus.

Handlers declare what they need as keyword parameters (`clock: Clock`, `gateway: PaymentGateway`);
bootstrap passes one mapping of everything available, and each handler gets just its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Bound = Callable[[Any, Any], Awaitable[Any]]


def inject(handler: Callable[..., Awaitable[Any]], dependencies: Mapping[str, object]) -> Bound:
    parameters = list(inspect.signature(handler).parameters)
    # The first parameter is the message, the second the unit of work; the rest are injected.
    wanted = parameters[2:]
    missing = [name for name in wanted if name not in dependencies]
    if missing:
        raise LookupError(f"{handler.__name__} needs {', '.join(missing)}, which bootstrap lacks")
    bound = {name: dependencies[name] for name in wanted}

    @functools.wraps(handler)
    async def call(message: Any, uow: Any) -> Any:
        return await handler(message, uow, **bound)

    return call
