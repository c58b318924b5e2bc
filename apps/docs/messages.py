"""Commands and domain events of each context, and the handler groups that react to events.

Events are every `Event` subclass declared in `shopcore.<context>.events`; commands are the
keys of `shopcore.<context>.handlers.COMMAND_HANDLERS`, with the handler that serves each.
Handler groups come from `shopcore.subscriptions.HANDLER_GROUPS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import msgspec

from apps.docs import markdown as md
from shopcore.application.groups import HandlerGroup
from shopcore.shared.messages import Command, Event
from shopcore.subscriptions import HANDLER_GROUPS

CONTEXTS = ("catalog", "inventory", "cart", "ordering", "payments", "customers")


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def events_of(context: str) -> list[type[Event]]:
    module = _module(f"shopcore.{context}.events")
    if module is None:
        return []
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value is not Event
        and value.__module__ == module.__name__
    ]


def commands_of(context: str) -> list[tuple[type[Command[Any]], Callable[..., Any]]]:
    module = _module(f"shopcore.{context}.handlers")
    table: dict[type[Command[Any]], Callable[..., Any]] = getattr(module, "COMMAND_HANDLERS", {})
    return list(table.items())


def tag_of(kind: type[Event]) -> str:
    tag = kind.__struct_config__.tag
    return str(tag) if tag is not None else kind.__name__


def fields_of(kind: type[msgspec.Struct], *, skip: Sequence[str] = ()) -> str:
    fields = [
        md.code(f"{field.name}: {md.type_name(field.type)}")
        for field in msgspec.structs.fields(kind)
        if field.name not in skip
    ]
    return ", ".join(fields) or "—"


def _handlers_of(kind: type[Event], groups: Sequence[HandlerGroup]) -> str:
    names = [
        f"{md.code(getattr(handler, '__name__', repr(handler)))} ({group.name})"
        for group in groups
        for handler in group.handlers.get(kind, ())
    ]
    return ", ".join(names) or "—"


def events_table(contexts: Sequence[str]) -> str:
    rows = [
        (
            md.code(kind.__name__),
            md.code(tag_of(kind)),
            fields_of(kind, skip=("event_id",)),
            _handlers_of(kind, HANDLER_GROUPS),
            md.cell(md.first_line(kind.__doc__) if kind.__doc__ != Event.__doc__ else ""),
        )
        for context in contexts
        for kind in events_of(context)
    ]
    if not rows:
        return "_This service records no domain events._"
    header = ("Event", "Stream tag", "Fields (besides `event_id`)", "Handled by (group)", "Meaning")
    return md.table(header, rows)


def commands_table(contexts: Sequence[str]) -> str:
    rows = [
        (
            md.code(command.__name__),
            md.code(f"{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"),
            fields_of(command),
            md.cell(md.first_line(handler.__doc__ or command.__doc__)),
        )
        for context in contexts
        for command, handler in commands_of(context)
    ]
    if not rows:
        return "_This service handles no commands of its own._"
    return md.table(("Command", "Handler", "Fields", "What it does"), rows)


def groups_table() -> str:
    rows = [
        (
            md.code(group.name),
            md.code(kind.__name__),
            md.code(f"{handler.__module__}.{getattr(handler, '__name__', repr(handler))}"),
            "yes" if group.record_processed else "no (idempotent by nature)",
        )
        for group in HANDLER_GROUPS
        for kind, handlers in group.handlers.items()
        for handler in handlers
    ]
    header = ("Group (consumer group)", "Event", "Handler", "Records processed events")
    return md.table(header, rows)
