"""Requests to change the catalog (staff only; the HTTP adapter checks the role)."""

from __future__ import annotations

import msgspec

from shopcore.catalog.model import Product, Variant
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command


class CreateProduct(Command[Product], frozen=True, kw_only=True):
    """Add a product with its variants (SKUs unique shop-wide, prices in the shop's currency)."""

    name: str
    slug: str
    category: str
    variants: tuple[Variant, ...]
    description: str = ""
    product_id: str = msgspec.field(default_factory=new_id)


class UpdateProduct(Command[Product], frozen=True, kw_only=True):
    """Change what is given of a product's name, slug, description, category or variants."""

    product_id: str
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    variants: tuple[Variant, ...] | None = None


class ArchiveProduct(Command[Product], frozen=True, kw_only=True):
    """Take a product off the catalog; its orders keep their lines."""

    product_id: str
