"""Pricing policies: shipping, tax and discounts."""
