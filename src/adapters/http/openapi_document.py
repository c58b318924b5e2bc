"""The OpenAPI document as the API serves it, finished on first use instead of at start-up.

Litestar builds the document from the route handlers the first time something asks for it
(`app.openapi_schema`); shopcore then adds what handlers cannot declare: the problem responses
every operation may answer and closed request schemas (openapi_problems.py), and the links
from each answer to the operations it feeds (openapi_links.py). Doing that when
the app is created cost every app 0.2-0.4 s before it served a request, in every worker
process and every test that builds an app, for a document most of them never send. So
`finished(app)` is the one way to the document: it finishes Litestar's cached one the first
time and hands back the same object after. `/docs/openapi.json` is served through it
(`FinishedJsonRenderPlugin`), and so is `shopcore openapi`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import OpenAPI

from adapters.http.openapi_links import link_operations
from adapters.http.openapi_problems import PROBLEM_SCHEMA, close_request_schemas, document_problems
from adapters.http.openapi_rules import state_nested_rules


def finished(app: Litestar) -> OpenAPI:
    document = app.openapi_schema  # built once by Litestar, then cached by it
    schemas = document.components.schemas
    if not (isinstance(schemas, dict) and schemas.get("Problem") is PROBLEM_SCHEMA):
        document_problems(document)
        close_request_schemas(document)
        state_nested_rules(document)
        link_operations(document)
    return document


class FinishedJsonRenderPlugin(JsonRenderPlugin):
    """`/docs/openapi.json`: the finished document, encoded once."""

    def __init__(self) -> None:
        super().__init__()
        self._body: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        # `openapi_schema` is Litestar's rendering of the unfinished document: not what we serve.
        if self._body is None:
            self._body = self.render_json(request, finished(request.app).to_schema())
        return self._body
