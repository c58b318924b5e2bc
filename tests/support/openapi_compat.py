"""What a client of an earlier release relies on, found missing from the current document.

The rules of docs/reference/api-versioning.md, checked between two OpenAPI documents: within
/v1 an operation may be removed only after a release that marked it deprecated; a success
status, a parameter or a response field a client may read stays; a parameter or a request
field a client did not send is never made required."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def breaking_changes(released: Document, current: Document) -> list[str]:
    problems: list[str] = []
    for path, operations in released.get("paths", {}).items():
        for method in METHODS:
            before = operations.get(method)
            if before is None:
                continue
            now = current.get("paths", {}).get(path, {}).get(method)
            where = f"{method.upper()} {path}"
            if now is None:
                if not before.get("deprecated"):
                    problems.append(f"{where} was removed without being deprecated first")
                continue
            problems += _operation(where, before, now)
    requests, responses = _schemas_used(released)
    schemas_before = released.get("components", {}).get("schemas", {})
    schemas_now = current.get("components", {}).get("schemas", {})
    for name in sorted(requests | responses):
        before, now = schemas_before.get(name), schemas_now.get(name)
        if before is None:
            continue
        if now is None:
            problems.append(f"schema {name} was removed")
            continue
        if name in requests:
            newly = set(now.get("required", ())) - set(before.get("required", ()))
            problems += [f"{name}.{field} became required in a request" for field in sorted(newly)]
        if name in responses:
            gone = set(before.get("properties", {})) - set(now.get("properties", {}))
            problems += [f"{name}.{field} was removed from a response" for field in sorted(gone)]
    return problems


def _operation(where: str, before: Document, now: Document) -> list[str]:
    problems = [
        f"{where} no longer answers {status}"
        for status in before.get("responses", {})
        if status.startswith("2") and status not in now.get("responses", {})
    ]
    params_before = {(p["in"], p["name"]): p for p in before.get("parameters", ())}
    params_now = {(p["in"], p["name"]): p for p in now.get("parameters", ())}
    for key, parameter in params_now.items():
        was = params_before.get(key)
        if parameter.get("required") and (was is None or not was.get("required")):
            problems.append(f"{where} now requires the {key[0]} parameter {key[1]}")
    problems += [
        f"{where} no longer takes the {key[0]} parameter {key[1]}"
        for key in sorted(params_before.keys() - params_now.keys())
    ]
    body_before, body_now = before.get("requestBody"), now.get("requestBody")
    if body_now and body_now.get("required") and not (body_before and body_before.get("required")):
        problems.append(f"{where} now requires a body")
    return problems


def _schemas_used(document: Document) -> tuple[set[str], set[str]]:
    """The component schemas requests use, and those responses use, nested ones included."""
    schemas = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    responses: set[str] = set()
    for operations in document.get("paths", {}).values():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            _collect(operation.get("requestBody"), schemas, requests)
            _collect(operation.get("responses"), schemas, responses)
    return requests, responses


def _collect(node: Any, schemas: dict[str, Any], found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _collect(schemas.get(name), schemas, found)
        for value in node.values():
            _collect(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, schemas, found)
