"""Facts about the catalog; caches and search indexes listen to them."""

from __future__ import annotations

from shopcore.shared.messages import Event


class ProductCreated(Event, frozen=True, kw_only=True):
    product_id: str
    skus: tuple[str, ...]


class ProductUpdated(Event, frozen=True, kw_only=True):
    product_id: str
    skus: tuple[str, ...]
    prices_changed: bool


class ProductArchived(Event, frozen=True, kw_only=True):
    product_id: str
    skus: tuple[str, ...]
