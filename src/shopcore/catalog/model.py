"""Catalog aggregates: a product with its sellable variants (one SKU each)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import msgspec

from shopcore.catalog.events import ProductArchived, ProductCreated, ProductUpdated
from shopcore.shared import validation
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import IllegalTransition, InvalidInput
from shopcore.shared.money import Money

MAX_VARIANTS = 100
MAX_ATTRIBUTES = 20
# 1,000,000.00 in minor units: a price beyond it is a typo, not a product.
MAX_PRICE = 100_000_000


class ProductStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Variant(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    price: Money
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


def check_variants(variants: tuple[Variant, ...], currency: str) -> tuple[Variant, ...]:
    if not 1 <= len(variants) <= MAX_VARIANTS:
        raise InvalidInput(f"a product needs 1 to {MAX_VARIANTS} variants")
    skus = [validation.sku(variant.sku) for variant in variants]
    if len(set(skus)) != len(skus):
        raise InvalidInput("variant SKUs must be unique within a product")
    for variant in variants:
        if variant.price.currency != currency:
            raise InvalidInput(f"prices must be in the shop currency {currency}")
        if variant.price.amount <= 0 or variant.price.amount > MAX_PRICE:
            raise InvalidInput("a price must be positive and at most 1,000,000.00")
        if len(variant.attributes) > MAX_ATTRIBUTES:
            raise InvalidInput(f"a variant has at most {MAX_ATTRIBUTES} attributes")
        for key, value in variant.attributes.items():
            validation.text(key, "attribute name", max_length=50)
            validation.text(value, "attribute value", max_length=100)
    return variants


@dataclass(kw_only=True)
class Product(Aggregate):
    id: str
    name: str
    slug: str
    description: str
    category: str
    variants: tuple[Variant, ...]
    status: ProductStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(
        cls,
        *,
        id: str,
        name: str,
        slug: str,
        description: str,
        category: str,
        variants: tuple[Variant, ...],
        currency: str,
        now: datetime,
    ) -> Product:
        product = cls(
            id=id,
            name=validation.text(name, "name", max_length=200),
            slug=validation.slug(slug),
            description=validation.text(description, "description", min_length=0, max_length=5000),
            category=validation.slug(category, "category"),
            variants=check_variants(variants, currency),
            status=ProductStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        product.record(ProductCreated(product_id=id, skus=product.skus))
        return product

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(variant.sku for variant in self.variants)

    @property
    def is_sellable(self) -> bool:
        return self.status is ProductStatus.ACTIVE

    def variant(self, sku: str) -> Variant | None:
        return next((variant for variant in self.variants if variant.sku == sku), None)

    def update(
        self,
        *,
        name: str | None = None,
        slug: str | None = None,
        description: str | None = None,
        category: str | None = None,
        variants: tuple[Variant, ...] | None = None,
        currency: str,
        now: datetime,
    ) -> None:
        if self.status is ProductStatus.ARCHIVED:
            raise IllegalTransition("an archived product cannot be changed")
        before = {variant.sku: variant.price for variant in self.variants}
        new = replace(
            self,
            name=self.name if name is None else validation.text(name, "name", max_length=200),
            slug=self.slug if slug is None else validation.slug(slug),
            description=self.description
            if description is None
            else validation.text(description, "description", min_length=0, max_length=5000),
            category=self.category if category is None else validation.slug(category, "category"),
            variants=self.variants if variants is None else check_variants(variants, currency),
        )
        self.name, self.slug, self.description = new.name, new.slug, new.description
        self.category, self.variants, self.updated_at = new.category, new.variants, now
        after = {variant.sku: variant.price for variant in self.variants}
        self.record(
            ProductUpdated(
                product_id=self.id,
                skus=tuple(sorted(set(before) | set(after))),
                prices_changed=before != after,
            )
        )

    def archive(self, now: datetime) -> None:
        if self.status is ProductStatus.ARCHIVED:
            return
        self.status = ProductStatus.ARCHIVED
        self.updated_at = now
        self.record(ProductArchived(product_id=self.id, skus=self.skus))
