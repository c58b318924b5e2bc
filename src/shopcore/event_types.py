"""Every event type the shop records, found in the contexts' events modules.

Codecs use this to decode a stored or streamed event back to its own class by its tag, and a
test checks that no Event subclass is missing from it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Union

from shopcore.catalog import events as catalog
from shopcore.customers import events as customers
from shopcore.inventory import events as inventory
from shopcore.ordering import events as ordering
from shopcore.payments import events as payments
from shopcore.shared.messages import Event


def _declared_in(module: ModuleType) -> list[type[Event]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value is not Event
        and value.__module__ == module.__name__
    ]


EVENT_TYPES: tuple[type[Event], ...] = tuple(
    kind
    for module in (catalog, customers, inventory, ordering, payments)
    for kind in _declared_in(module)
)

# The tagged union msgspec decodes into the right class (a type built at run time: Any).
AnyEvent: Any = Union[EVENT_TYPES]  # noqa: UP007 - the X | Y form cannot unpack a tuple
