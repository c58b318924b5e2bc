"""What `shopcore serve` does before handing over to uvicorn, and the OpenAPI export."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets

from apps.api import build_app
from apps.containers import ShopContainer
from apps.database import is_embedded, prepare
from apps.seed import seed_demo_catalog
from apps.settings import Settings

logger = logging.getLogger("shopcore.serve")


def prepare_to_serve(settings: Settings, *, seed_demo: bool | None) -> None:
    """Once, in the parent process: migrate the embedded database, seed the demo catalog,
    and fix one signing key for every worker when none is configured."""
    asyncio.run(_prepare(settings, seed_demo))
    if not settings.jwt_secret:
        logger.warning(
            "SHOPCORE_JWT_SECRET is not set: using a random signing key for this run; tokens "
            "will not survive a restart. Set it for anything but a local demo."
        )
        os.environ["SHOPCORE_JWT_SECRET"] = secrets.token_urlsafe(48)


async def _prepare(settings: Settings, seed_demo: bool | None) -> None:
    await prepare(settings)
    embedded = settings.database_url is None or is_embedded(settings.database_url)
    if seed_demo is False or (seed_demo is None and not embedded):
        return
    container = ShopContainer(settings=settings)
    try:
        if await seed_demo_catalog(container.shop()):
            logger.warning("seeded the demo catalog")
    finally:
        if settings.database_url is not None:
            await container.engine().dispose()


def openapi_document() -> bytes:
    """The document as the app generates it, in a stable, diff-friendly form."""
    app = build_app(Settings(jwt_secret="x" * 32))
    schema = app.openapi_schema.to_schema()
    return (json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
