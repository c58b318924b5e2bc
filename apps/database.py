"""What every entry point checks before it starts (serve, worker, relay, create-staff): the
embedded database migrated, and the database reachable and at the code's schema. A failure is
`NotReady`, one line that says what is wrong and what to do. Redis is different: a running
process rides out a Redis that stops answering (rate limits count per process, the catalog
cache and the event stream wait for it), so one that starts while Redis is away starts the same
way, with a warning, rather than staying down until Redis is back."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisClusterException, RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from adapters.db import schema_revision
from adapters.db.engine import create_engine
from adapters.db.migrate import upgrade_async
from adapters.messaging.connection import open_client
from apps.settings import Settings

logger = logging.getLogger("shopcore.start")

CHECK_SECONDS = 10  # a service that has not answered by then is taken for unreachable


class NotReady(RuntimeError):
    """A service the shop needs cannot be used as configured."""


def is_embedded(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def redacted(url: str) -> str:
    """The URL for a message: never a password from the environment."""
    return make_url(url).render_as_string(hide_password=True)


async def prepare(settings: Settings) -> None:
    """On first start the embedded SQLite database is created and migrated in place.
    PostgreSQL is migrated on purpose, with `shopcore db upgrade`, before a deploy: here it is
    only checked. Redis, when configured, is asked too: a warning if it does not answer."""
    if settings.tracing:
        try:
            import opentelemetry.sdk  # noqa: F401 - only whether the extra is installed
        except ImportError:
            raise NotReady(
                "SHOPCORE_TRACING needs the tracing extra: pip install 'shopcore[tracing]'"
            ) from None
    url = settings.database_url
    if url is not None:
        if is_embedded(url):
            try:
                await upgrade_async(url)
            except (SQLAlchemyError, OSError) as error:
                raise NotReady(
                    f"cannot create the database at {url}: {error_line(error)}"
                ) from None
        await _check_database(url, settings.database_transaction_pooler)
    if settings.redis_url is not None:
        await _check_redis(settings.redis_url, cluster=settings.redis_cluster)


async def _check_database(url: str, pooled: bool) -> None:
    engine = create_engine(url, pool_size=1, pool_timeout=CHECK_SECONDS, transaction_pooler=pooled)
    try:
        async with asyncio.timeout(CHECK_SECONDS), engine.connect() as connection:
            problem = schema_revision.behind(await schema_revision.current(connection))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        raise NotReady(
            f"cannot reach the database at {redacted(url)}: {error_line(error)}"
        ) from None
    finally:
        await engine.dispose()
    if problem is not None:
        raise NotReady(f"the database at {redacted(url)}: {problem}")


async def _check_redis(url: str, *, cluster: bool) -> None:
    client = open_client(
        url, cluster=cluster, socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS
    )
    try:
        await client.ping()
    except (RedisError, RedisClusterException, OSError) as error:
        where = make_url(url).render_as_string(hide_password=True) if "://" in url else url
        logger.warning(
            "Redis at %s does not answer (%s): starting without it until it does; rate limits "
            "count per process, events wait in the outbox",
            where,
            error_line(error),
        )
    finally:
        await client.aclose()


def error_line(error: BaseException) -> str:
    """The first line of what the driver said, without SQLAlchemy's wrapping."""
    if isinstance(error, TimeoutError):
        return f"no answer within {CHECK_SECONDS} s"
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip() or type(cause).__name__
    return text.splitlines()[0]
