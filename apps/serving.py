"""What `shopcore serve` does before it starts serving (apps/server.py), and the OpenAPI
export."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.http.openapi_document import finished
from apps.api import build_app
from apps.components import Components
from apps.database import is_embedded, prepare
from apps.seed import seed_demo_catalog
from apps.settings import Settings

logger = logging.getLogger("shopcore.serve")

CACHE_SECONDS = "SHOPCORE_CATALOG_CACHE_SECONDS"


def must_turn_the_cache_off(settings: Settings, workers: int, environ: Mapping[str, str]) -> bool:
    """Several API processes over one database, without Redis: each would keep its own catalog
    cache and drop entries only for its own changes, serving the others' stale. Off, unless
    the operator set SHOPCORE_CATALOG_CACHE_SECONDS and so accepts reads that stale."""
    return (
        workers > 1
        and settings.database_url is not None
        and settings.events_in_process
        and settings.catalog_cache_seconds > 0
        and CACHE_SECONDS not in environ
    )


def prepare_to_serve(settings: Settings, *, seed_demo: bool | None, workers: int = 1) -> None:
    """Once, in the parent process: migrate the embedded database, seed the demo catalog,
    fix one signing key for every worker when none is configured, and turn off a catalog cache
    the workers could not keep fresh."""
    asyncio.run(_prepare(settings, seed_demo))
    if must_turn_the_cache_off(settings, workers, os.environ):
        logger.warning(
            "%d API processes without Redis do not share catalog cache invalidations: the "
            "catalog cache is off. Set SHOPCORE_REDIS_URL (and run a worker), or set %s to "
            "accept reads that stale.",
            workers,
            CACHE_SECONDS,
        )
        os.environ[CACHE_SECONDS] = "0"  # the worker processes inherit it
    if not settings.jwt_secret:
        os.environ["SHOPCORE_JWT_SECRET"] = _unset_signing_key(settings)
    if not settings.webhook_secret:
        embedded = settings.database_url is None or is_embedded(settings.database_url)
        logger.log(
            logging.INFO if embedded else logging.WARNING,
            "SHOPCORE_WEBHOOK_SECRET is not set: the payment gateway's webhook deliveries are "
            "answered 404 webhooks-disabled",
        )


def _unset_signing_key(settings: Settings) -> str:
    """A signing key when none is configured. Beside an embedded database, one made on first
    start and kept in a file only its owner reads, so that every local process on that
    database (two `make run`s, a restart) accepts the others' tokens; else one for this run."""
    url = settings.database_url
    database = make_url(url).database if url is not None and is_embedded(url) else None
    if not database:
        logger.warning(
            "SHOPCORE_JWT_SECRET is not set: using a random signing key for this run; tokens "
            "will not survive a restart. Set it for anything but a local demo."
        )
        return secrets.token_urlsafe(48)
    path = Path(f"{database}.jwt-secret")
    if not path.exists():
        # Written whole under a name of its own, then linked in place: of two processes
        # starting at once, one key wins and neither reads a half-written file.
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    logger.info("SHOPCORE_JWT_SECRET is not set: signing with the local key in %s", path)
    return key


async def _prepare(settings: Settings, seed_demo: bool | None) -> None:
    await prepare(settings)
    embedded = settings.database_url is None or is_embedded(settings.database_url)
    if seed_demo is False or (seed_demo is None and not embedded):
        return
    async with Components(settings) as components:
        if await seed_demo_catalog(components.shop):
            logger.info("seeded the demo catalog")


def openapi_document() -> bytes:
    """The document as the app generates it, in a stable, diff-friendly form."""
    app = build_app(Components(Settings(jwt_secret="x" * 32)))
    schema = finished(app).to_schema()
    return (json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
