"""The cached-read ceiling: a bare Litestar app served as `shopcore serve` is (granian, one
worker process, `procs.GRANIAN_FLAGS`), answering the catalog's routes with the very bytes
shopcore answered them with (captured at the start of the run), and doing nothing else: no
database, no middleware, no validation.

    BENCH_CEILING_DIR=<dir with listing.json and detail.json> granian --interface asgi \\
        --workers 1 --loop uvloop --no-ws --no-access-log --log-level warning \\
        --port N bench.ceiling_app:app
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get

_DIR = Path(os.environ.get("BENCH_CEILING_DIR", "."))
LISTING = (_DIR / "listing.json").read_bytes() if (_DIR / "listing.json").exists() else b"{}"
DETAIL = (_DIR / "detail.json").read_bytes() if (_DIR / "detail.json").exists() else b"{}"


@get("/v1/products", sync_to_thread=False)
def listing() -> Response[bytes]:
    return Response(LISTING, media_type="application/json")


@get("/v1/products/{product_id:str}", sync_to_thread=False)
def detail(product_id: str) -> Response[bytes]:
    return Response(DETAIL, media_type="application/json")


@get("/health/ready", sync_to_thread=False)
def ready() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[listing, detail, ready], openapi_config=None, debug=False)
