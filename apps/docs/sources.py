"""What the generator reads: the app's OpenAPI document, the guards on its routes, the
SQLAlchemy metadata and the `shopcore` command group. Loaded once per run.

The command group is handed in by whoever runs the generator (the `docs` command passes its
own root), so the CLI, which runs the generator, is not imported by it: no import cycle."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import Table

from adapters.db.tables import metadata
from apps.docs.examples import Json

_TYPED_PARAMETER = re.compile(r"\{(\w+):[^}]+\}")


@dataclass(frozen=True, kw_only=True)
class Sources:
    openapi: Json
    guards: dict[tuple[str, str], tuple[str, ...]]
    tables: tuple[Table, ...]
    cli: click.Group


def load(cli: click.Group) -> Sources:
    from apps.serving import openapi_document

    return Sources(
        cli=cli,
        openapi=json.loads(openapi_document()),
        guards=route_guards(),
        # In the order tables.py declares them, which groups them by context.
        tables=tuple(metadata.tables.values()),
    )


def route_guards() -> dict[tuple[str, str], tuple[str, ...]]:
    """(METHOD, OpenAPI path) -> the names of the guards that run before the handler."""
    from apps.api import build_app
    from apps.components import Components
    from apps.settings import Settings

    app = build_app(Components(Settings(jwt_secret="docs-generator-signing-key-0123456789")))
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for route in app.routes:
        path = _TYPED_PARAMETER.sub(r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", ()):
            names = tuple(
                _name(guard) for layer in handler.ownership_layers for guard in layer.guards or ()
            )
            for method in getattr(handler, "http_methods", ()):
                found[(str(method).upper(), path)] = names
    return found


def _name(guard: Any) -> str:
    return str(getattr(guard, "__name__", type(guard).__name__))
