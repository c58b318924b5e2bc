"""Handlers are served from a map derived from the fields of Ports and Links: a handler's
parameter names the field that serves it, and a name both dataclasses use is refused."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from adapters.bridges import in_process_links
from adapters.bridges.links import Sender
from adapters.memory.clock import ManualClock
from shopcore.application.injection import provided_by
from shopcore.bootstrap import (
    COMMAND_HANDLERS,
    EVENT_HANDLERS,
    Links,
    Ports,
    ShopUnitOfWork,
    bootstrap,
)
from tests.support.driver import ShopDriver


def _names(kind: type) -> set[str]:
    return {field.name for field in dataclasses.fields(kind)}


def test_the_map_holds_every_field_of_ports_and_links_by_its_name(driver: ShopDriver) -> None:
    ports, links = driver.shop.ports, driver.shop.links

    provided = provided_by(ports, links)

    assert set(provided) == _names(Ports) | _names(Links)
    assert provided["clock"] is ports.clock and provided["quotes"] is links.quotes


def test_every_handler_asks_only_for_fields_of_ports_or_links() -> None:
    handlers = [*COMMAND_HANDLERS.values(), *(h for hs in EVENT_HANDLERS.values() for h in hs)]
    asked = {
        name for handler in handlers for name in list(inspect.signature(handler).parameters)[2:]
    }

    assert asked - (_names(Ports) | _names(Links)) == set()


def test_ports_and_links_share_no_field_name() -> None:
    assert _names(Ports) & _names(Links) == set()


def test_a_field_name_in_two_sources_is_refused() -> None:
    @dataclass
    class Left:
        clock: str = "left"

    @dataclass
    class Right:
        clock: str = "right"

    with pytest.raises(ValueError, match=r"Left\.clock and Right\.clock share a name"):
        provided_by(Left(), Right())


def test_bootstrap_refuses_links_that_reuse_a_port_name(driver: ShopDriver) -> None:
    @dataclass(frozen=True, kw_only=True)
    class ClashingLinks(Links):
        clock: object

    def clashing(bus: Sender, uow: Callable[[], ShopUnitOfWork]) -> Links:
        links = in_process_links(900, ManualClock())(bus, uow)
        fields = {field.name: getattr(links, field.name) for field in dataclasses.fields(links)}
        return ClashingLinks(**fields, clock=driver.shop.ports.clock)

    with pytest.raises(ValueError, match=r"Ports\.clock and ClashingLinks\.clock share a name"):
        bootstrap(uow=driver.shop.uow, ports=driver.shop.ports, links=clashing)
