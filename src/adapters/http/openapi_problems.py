"""Every error response in the OpenAPI document is an RFC 9457 problem document.

Route handlers declare the errors particular to them; this pass adds the ones any operation
can answer (a rejected request, an invalid or missing token, an unknown id, a body too large
or not JSON, rate limiting, an overloaded database, an internal error) and makes every 4xx/5xx
use `application/problem+json` with the one Problem schema, so the document matches what the
exception handlers send.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)

from adapters.http.problems import PROBLEM_JSON

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="An RFC 9457 problem document. `type` is stable per kind of error.",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING, description="the last segment of `type`"),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
            description="which request fields were wrong",
        ),
        "skus": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.STRING),
            description="out-of-stock: the SKUs that are short",
        ),
    },
)

ANY_OPERATION = {
    "400": "The request is malformed: bad JSON, unknown fields, wrong types or out of bounds.",
    "429": "Too many requests from this client; see Retry-After.",
    "500": "An unexpected error; it was logged. Nothing internal is disclosed.",
    "503": "The service is busy or a dependency (database, payment gateway) is unavailable; "
    "retry after Retry-After.",
}
API_OPERATION = {
    "401": "A token is required, or the one sent is invalid or expired.",
    "403": "The token is valid but not allowed here (staff only).",
    "404": "No such resource, or one the caller may not see.",
    "422": "The request is well-formed but breaks a rule of the shop.",
}
CHANGING_OPERATION = {
    "409": "The request conflicts with the current state (taken, out of stock, illegal "
    "state change, concurrent change, or an idempotency key still in use).",
}
WITH_BODY = {
    "413": "The request body is larger than the server accepts.",
    "415": "The request body is not JSON (`Content-Type: application/json`).",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def close_request_schemas(openapi: OpenAPI) -> None:
    """Request bodies reject unknown fields (no mass assignment); say so in the document, for
    every schema a request body reaches."""
    schemas = openapi.components.schemas
    if not isinstance(schemas, dict):  # pragma: no cover
        return
    seen: set[str] = set()
    pending = [
        media.schema
        for item in (openapi.paths or {}).values()
        for method in METHODS
        if (operation := getattr(item, method, None)) is not None
        and operation.request_body is not None
        and not isinstance(operation.request_body, Reference)
        for media in (operation.request_body.content or {}).values()
    ]
    while pending:
        node = pending.pop()
        if isinstance(node, Reference):
            name = node.ref.rsplit("/", 1)[-1]
            if name in seen or name not in schemas:
                continue
            seen.add(name)
            node = schemas[name]
        if not isinstance(node, Schema):
            continue
        if node.type == OpenAPIType.OBJECT and node.properties:
            node.additional_properties = False
        pending.extend((node.properties or {}).values())
        pending.extend(node.one_of or [])
        pending.extend(node.any_of or [])
        pending.extend(node.all_of or [])
        if node.items is not None:
            pending.append(node.items)


def document_problems(openapi: OpenAPI) -> None:
    components = openapi.components
    if not isinstance(components.schemas, dict):  # pragma: no cover - Litestar always sets it
        components.schemas = {}
    components.schemas["Problem"] = PROBLEM_SCHEMA
    problem = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    for path, item in (openapi.paths or {}).items():
        for method in METHODS:
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            wanted = dict(ANY_OPERATION)
            if path.startswith("/v1/"):
                wanted.update(API_OPERATION)
                if method != "get":
                    wanted.update(CHANGING_OPERATION)
            if operation.request_body is not None:
                wanted.update(WITH_BODY)
            for status, description in wanted.items():
                responses.setdefault(status, OpenAPIResponse(description=description))
            for status, response in responses.items():
                if path.startswith("/health/") and getattr(response, "content", None):
                    continue  # readiness answers 503 with its own report of the checks
                if isinstance(response, OpenAPIResponse) and int(status) >= 400:
                    examples = next(
                        (m.examples for m in (response.content or {}).values() if m.examples),
                        None,
                    )
                    response.content = {
                        PROBLEM_JSON: OpenAPIMediaType(schema=problem.schema, examples=examples)
                    }
            operation.responses = dict(sorted(responses.items()))
