"""Which handlers react to which events, in groups that are delivered events together.

A group is the unit of deployment for event handling: with Redis each group is a consumer
group that `shopcore worker --group NAME` serves; without Redis the bus runs them all in
process. New reactions join a group here (or form a new one); the worker picks them up.
"""

from __future__ import annotations

from shopcore.application.groups import HandlerGroup
from shopcore.catalog import handlers as catalog
from shopcore.catalog.ports import CatalogCache
from shopcore.inventory.events import StockChanged
from shopcore.ordering import handlers as ordering


async def invalidate_cached_stock(
    event: StockChanged, uow: object, catalog_cache: CatalogCache
) -> None:
    """Storefront reads that show availability go stale when a SKU's stock changes. This
    module, not the catalog, joins the two contexts, which must not import each other."""
    await catalog_cache.invalidate((), (event.sku,))


# Order confirmation and shipping emails: an email is sent at least once, and the processed
# record (with the notification's dedup key) keeps a redelivery from sending it again.
NOTIFICATIONS = HandlerGroup(name="notifications", handlers={**ordering.EVENT_HANDLERS})

# Catalog, price and stock changes drop cached catalog reads. Dropping twice is harmless, so
# these handlers keep no processed-event record.
CATALOG_CACHE = HandlerGroup(
    name="catalog-cache",
    handlers={**catalog.EVENT_HANDLERS, StockChanged: [invalidate_cached_stock]},
    record_processed=False,
)

HANDLER_GROUPS: tuple[HandlerGroup, ...] = (NOTIFICATIONS, CATALOG_CACHE)
