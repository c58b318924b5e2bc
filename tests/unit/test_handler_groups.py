"""Event handlers come in groups. Without workers the bus runs them in process; with workers
(Redis and SQL configured) the process that commits leaves them to the groups, which handle
each event once however often it is delivered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.bridges import in_process_links
from apps.settings import Settings
from shopcore.application.groups import GroupDelivery
from shopcore.bootstrap import bootstrap
from shopcore.catalog.commands import ArchiveProduct
from shopcore.ordering.events import OrderPlaced
from shopcore.shared.messages import Event
from shopcore.shared.money import Money
from shopcore.shared.notifications import Notification
from shopcore.subscriptions import HANDLER_GROUPS
from tests.support.driver import ShopDriver, build_driver


@dataclass
class CountingNotifier:
    """Sends every notification it is given: repeats show up, unlike RecordingNotifier."""

    sent: list[Notification] = field(default_factory=list)

    async def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@dataclass
class RecordingCache:
    dropped: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        self.dropped.append((tuple(product_ids), tuple(skus)))


def _deferring(driver: ShopDriver) -> Any:
    """The same store and ports, bootstrapped as a shop whose events go to workers."""
    return bootstrap(
        uow=driver.shop.uow,
        ports=driver.shop.ports,
        links=in_process_links(900, driver.shop.ports.clock),
        in_process_events=False,
    )


def test_every_group_has_a_unique_name() -> None:
    names = [group.name for group in HANDLER_GROUPS]
    assert len(names) == len(set(names)) and {"notifications", "catalog-cache"} <= set(names)


def test_events_run_in_process_unless_workers_can_get_them() -> None:
    assert Settings().events_in_process
    assert Settings(database_url="sqlite+aiosqlite:///x.db").events_in_process
    assert Settings(redis_url="redis://localhost").events_in_process  # no outbox in memory
    assert not Settings(
        database_url="sqlite+aiosqlite:///x.db", redis_url="redis://x"
    ).events_in_process


async def test_with_workers_order_emails_wait_for_the_notifications_group() -> None:
    notifier = CountingNotifier()
    driver = build_driver(notifier=notifier)
    deferring = _deferring(driver)
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    driver.shop = deferring

    order = await driver.buy({"TEE-M": 1})

    assert notifier.sent == []
    placed = [event for event in driver.store.outbox if isinstance(event, OrderPlaced)]
    assert [event.order_id for event in placed] == [order.id]
    notifications = deferring.groups["notifications"]
    for _ in range(3):  # delivered three times, as after two crashes
        await notifications.deliver(placed[0])
    assert [n.dedup_key for n in notifier.sent] == [f"order-confirmation:{order.id}"]


async def test_without_workers_the_bus_sends_the_email_itself() -> None:
    notifier = CountingNotifier()
    driver = build_driver(notifier=notifier)
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)

    order = await driver.buy({"TEE-M": 1})

    assert [n.dedup_key for n in notifier.sent] == [f"order-confirmation:{order.id}"]


async def test_catalog_and_stock_changes_drop_cached_catalog_reads() -> None:
    cache = RecordingCache()
    driver = build_driver(catalog_cache=cache)

    product = await driver.product("TEE-S", "TEE-M")
    await driver.receive("TEE-M", 2)
    await driver.handle(ArchiveProduct(product_id=product.id))

    assert cache.dropped == [
        ((product.id,), ("TEE-S", "TEE-M")),
        ((), ("TEE-M",)),
        ((product.id,), ("TEE-S", "TEE-M")),
    ]


async def test_a_group_runs_every_handler_and_raises_the_first_failure() -> None:
    calls: list[str] = []

    async def fails(event: Event, uow: Any) -> None:
        calls.append("fails")
        raise LookupError("first")

    async def works(event: Event, uow: Any) -> None:
        calls.append("works")

    group = GroupDelivery(
        "g", {OrderPlaced: [fails, works]}, uow=lambda: None, record_processed=False
    )

    with pytest.raises(LookupError, match="first"):
        await group.deliver(OrderPlaced(order_id="o", customer_id="c", total=Money(100, "EUR")))
    assert calls == ["fails", "works"]
    assert group.wants(OrderPlaced) and group.event_types == frozenset({OrderPlaced})
