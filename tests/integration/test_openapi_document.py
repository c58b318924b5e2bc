"""The committed OpenAPI document is the app's own, and it documents every operation fully."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from apps.api import build_app
from apps.cli import main
from apps.components import Components
from apps.serving import openapi_document
from apps.settings import Settings

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
HINT = "openapi/openapi.json is out of date: run `shopcore openapi` and commit the result"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@pytest.fixture(scope="module")
def generated() -> bytes:
    return openapi_document()


@pytest.fixture(scope="module")
def document(generated: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(generated)
    return loaded


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in sorted(document["paths"].items())
        for method, operation in item.items()
        if method in METHODS
    ]


def has_example(media: dict[str, Any]) -> bool:
    schema = media.get("schema") or {}
    return bool(media.get("examples") or media.get("example") or schema.get("examples"))


def test_the_committed_document_is_the_apps(generated: bytes) -> None:
    assert COMMITTED.exists(), HINT
    committed = COMMITTED.read_bytes()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.decode().splitlines(),
            generated.decode().splitlines(),
            "openapi/openapi.json (committed)",
            "the app's document",
            lineterm="",
        )
        pytest.fail(f"{HINT}\n" + "\n".join(list(diff)[:60]), pytrace=False)


def test_the_cli_writes_the_apps_document(tmp_path: Path, generated: bytes) -> None:
    output = tmp_path / "openapi.json"

    result = CliRunner().invoke(main, ["openapi", "--output", str(output)])

    assert result.exit_code == 0, result.output
    assert output.read_bytes() == generated


def test_the_document_is_stable_from_one_build_to_the_next(generated: bytes) -> None:
    assert openapi_document() == generated


def test_every_operation_has_a_summary_a_description_and_client_errors(
    document: dict[str, Any],
) -> None:
    missing = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if not operation.get("summary")
        or not operation.get("description")
        or not any(status.startswith("4") for status in operation.get("responses", {}))
    ]

    assert not missing, f"operations without summary, description or a 4xx: {missing}"


# Readiness answers 503 with its report of each check, which is what orchestrators read.
HEALTH_REPORTS = {"GET /health/ready 503"}


def test_every_error_response_is_a_problem_document(document: dict[str, Any]) -> None:
    wrong = [
        f"{method} {path} {status}"
        for method, path, operation in operations(document)
        for status, response in operation.get("responses", {}).items()
        if status[0] in "45" and list(response.get("content") or {}) != ["application/problem+json"]
    ]

    assert set(wrong) == HEALTH_REPORTS, f"error responses that are not problem documents: {wrong}"


def test_every_json_body_in_and_out_has_an_example(document: dict[str, Any]) -> None:
    missing: list[str] = []
    for method, path, operation in operations(document):
        body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
        if body is not None and not has_example(body):
            missing.append(f"{method} {path} request")
        for status, response in operation.get("responses", {}).items():
            media = (response.get("content") or {}).get("application/json")
            if status.startswith("2") and media is not None and not has_example(media):
                missing.append(f"{method} {path} {status}")

    assert not missing, f"JSON bodies without an example: {missing}"


def test_the_interactive_docs_and_the_document_are_served(document: dict[str, Any]) -> None:
    with TestClient(build_app(Components(Settings(jwt_secret="d" * 32)))) as client:
        page = client.get("/docs")
        served = client.get("/docs/openapi.json")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger" in page.text.lower()
    assert served.status_code == 200
    assert served.json() == document
