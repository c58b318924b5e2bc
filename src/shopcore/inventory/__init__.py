"""Inventory: stock per SKU and location, reservations with expiry, allocations, shipping."""
