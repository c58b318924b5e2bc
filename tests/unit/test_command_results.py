"""Every command declares what its handler returns, and the declaration is the truth.

`shop.handle(command)` is typed by the command's `Command[Result]` base, while the bus finds
the handler in a table the type checker cannot see through; these tests are what keeps the
two equal, so a result type cannot drift from the handler that produces it."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest

from shopcore.bootstrap import COMMAND_HANDLERS
from shopcore.shared.messages import Command
from tests.support.commands import declared_result

ROUTES = sorted(COMMAND_HANDLERS.items(), key=lambda route: route[0].__name__)


def _ids(route: tuple[type[Command[Any]], Callable[..., Any]]) -> str:
    return route[0].__name__


@pytest.mark.parametrize("route", ROUTES, ids=[_ids(route) for route in ROUTES])
def test_a_command_declares_what_its_handler_returns(
    route: tuple[type[Command[Any]], Callable[..., Any]],
) -> None:
    kind, handler = route

    assert declared_result(kind) == typing.get_type_hints(handler)["return"]


@pytest.mark.parametrize("route", ROUTES, ids=[_ids(route) for route in ROUTES])
def test_a_handler_takes_the_command_it_is_registered_for(
    route: tuple[type[Command[Any]], Callable[..., Any]],
) -> None:
    kind, handler = route
    message = next(iter(inspect.signature(handler).parameters))

    assert typing.get_type_hints(handler)[message] is kind
