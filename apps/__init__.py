"""Composition roots and entry points: the only code that chooses adapters."""
