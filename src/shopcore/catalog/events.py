"""Facts about the catalog; caches and search indexes listen to them."""

from __future__ import annotations

from shopcore.shared.messages import Event


class ProductCreated(Event, frozen=True, kw_only=True):
    """A product entered the catalog, with its variants' SKUs."""

    product_id: str
    skus: tuple[str, ...]


class ProductUpdated(Event, frozen=True, kw_only=True):
    """A product's details or variants changed (`prices_changed`: a variant's price among them):
    cached reads of it are dropped."""

    product_id: str
    skus: tuple[str, ...]
    prices_changed: bool


class ProductArchived(Event, frozen=True, kw_only=True):
    """A product left the catalog: it is no longer listed, and its cached reads are dropped."""

    product_id: str
    skus: tuple[str, ...]
