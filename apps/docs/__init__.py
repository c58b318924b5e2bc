"""The documentation generator behind `shopcore docs`.

`docs/` is hand-written prose with generated blocks in it (see `markers.py`). The generated
blocks come from the code: endpoints and examples from the app's OpenAPI document, tables
and the ER diagram from the SQLAlchemy metadata, commands and events from the contexts,
state machines from the transition tables, and the settings table from the `Settings` fields.
`shopcore docs` rewrites the blocks; `shopcore docs --check` and tests/integration/
test_docs.py fail when a committed page differs from what the code says today.
"""

from __future__ import annotations

from apps.docs.markers import MarkerError
from apps.docs.site import blocks, render, stale, write
from apps.docs.sources import Sources, load

__all__ = ["MarkerError", "Sources", "blocks", "load", "render", "stale", "write"]
