"""Catalog: products, their variants (one SKU each, priced in Money), categories and slugs."""
