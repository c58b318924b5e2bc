"""The pieces of the docs generator (apps/docs/) that decide what a page says."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pytest

from adapters.db.tables import metadata
from apps.docs import markdown as md
from apps.docs import schemas
from apps.docs.datamodel import er_diagram
from apps.docs.endpoints import Endpoint, details
from apps.docs.examples import example_of, skeleton
from apps.docs.markers import MarkerError, fill
from apps.docs.services import Machine, Service, service_of_path, service_of_table
from apps.docs.states import diagram, final_states, initial_states

PAGE = """# Title

Hand-written.

<!-- generated:start one -->
old
<!-- generated:end -->

More prose.
"""


def test_a_block_is_replaced_and_the_prose_around_it_kept() -> None:
    page = fill(PAGE, {"one": "new"}, where="page.md")

    assert "old" not in page
    assert "new" in page
    assert page.startswith("# Title\n\nHand-written.\n")
    assert page.endswith("More prose.\n")
    assert fill(page, {"one": "new"}, where="page.md") == page


@pytest.mark.parametrize(
    ("blocks", "complaint"),
    [({}, "nothing for: one"), ({"one": "x", "two": "y"}, "no markers for: two")],
)
def test_blocks_and_markers_must_name_the_same_parts(
    blocks: dict[str, str], complaint: str
) -> None:
    with pytest.raises(MarkerError, match=complaint):
        fill(PAGE, blocks, where="page.md")


def test_text_from_the_code_keeps_angle_brackets_visible_outside_code() -> None:
    assert md.text("t=<unix seconds> in `<t>.<body>`") == "t=&lt;unix seconds&gt; in `<t>.<body>`"
    assert md.cell("a | b\nc") == "a &#124; b c"


class Light(StrEnum):
    OFF = "off"
    ON = "on"
    BROKEN = "broken"


LIGHTS = Machine(
    name="lights",
    title="Light",
    source="tests",
    table={
        Light.OFF: frozenset({Light.ON}),
        Light.ON: frozenset({Light.BROKEN}),
        Light.BROKEN: frozenset(),
    },
)


def test_initial_and_final_states_follow_from_the_table() -> None:
    assert initial_states(LIGHTS.table) == [Light.OFF]
    assert final_states(LIGHTS.table) == [Light.BROKEN]
    assert diagram(LIGHTS).splitlines()[1:-1] == [
        "stateDiagram-v2",
        "    [*] --> off",
        "    off --> on",
        "    on --> broken",
        "    broken --> [*]",
    ]


DOCUMENT = {
    "components": {
        "schemas": {
            "Money": {
                "type": "object",
                "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}},
            },
            "Priced": {"examples": [{"amount": 5, "currency": "EUR"}]},
        }
    }
}


def test_a_documented_example_is_preferred_to_the_schema() -> None:
    example = example_of(DOCUMENT, {"schema": {"$ref": "#/components/schemas/Priced"}})

    assert example.documented
    assert example.value == {"amount": 5, "currency": "EUR"}


def test_without_an_example_the_schema_becomes_a_skeleton() -> None:
    example = example_of(DOCUMENT, {"schema": {"$ref": "#/components/schemas/Money"}})

    assert not example.documented
    assert example.value == {"amount": 0, "currency": "string"}
    assert skeleton(DOCUMENT, {"type": "array", "items": {"type": "boolean"}}) == [False]


def test_endpoints_and_tables_belong_to_services_by_prefix_and_name() -> None:
    def key(service: Service | None) -> str | None:
        return None if service is None else service.key

    assert key(service_of_path("/v1/admin/products/{product_id}")) == "catalog"
    assert key(service_of_path("/v1/checkout")) == "cart"
    assert key(service_of_path("/v1/productsx")) is None
    assert key(service_of_path("/v1/new", ("orders",))) == "ordering"
    assert key(service_of_table("refresh_sessions")) == "customers"


def _endpoint(responses: Mapping[str, Any]) -> Endpoint:
    operation = {"summary": "Stream", "responses": responses}
    return Endpoint(method="GET", path="/v1/x", operation=operation, parameters=())


def test_an_event_stream_example_shows_its_lines_not_an_escaped_string() -> None:
    stream = "id: 1\r\nevent: stock\r\ndata: {}\r\n\r\n: heartbeat\r\n\r\n"
    media = {"text/event-stream": {"schema": {"type": "string"}, "example": stream}}
    page = details({}, [_endpoint({"200": {"description": "ok", "content": media}})])

    assert "```text\n    id: 1\n    event: stock\n    data: {}\n\n    : heartbeat\n    ```" in page
    assert "\\r\\n" not in page


def test_error_examples_are_shown_and_error_skeletons_are_not() -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    documented = {"schema": problem, "example": {"code": "out-of-stock", "status": 409}}
    responses = {
        "409": {"description": "short", "content": {"application/problem+json": documented}},
        "500": {"description": "bug", "content": {"application/problem+json": {"schema": problem}}},
    }
    page = details({}, [_endpoint(responses)], schemas="")

    assert 'Response `409` (`application/problem+json`): example"' in page
    assert "`500`" in page and "Response `500`" not in page
    assert "[`Problem`](#schema-problem)" in page


def test_a_schema_lists_its_fields_and_links_the_schemas_they_are_of() -> None:
    schema = {
        "properties": {
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/LineOut"}},
            "note": {"oneOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
        },
        "required": ["lines"],
        "additionalProperties": False,
    }
    text = schemas.section("CartOut", schema)

    assert "### `CartOut` { #schema-cartout }" in text
    assert "| `lines` | array of [`LineOut`](#schema-lineout) | yes | — | — |" in text
    assert "| `note` | string or null | no | at most 10 characters | — |" in text
    assert "Any other field is refused (400)." in text


def test_foreign_keys_are_drawn_solid_and_links_kept_by_id_dashed() -> None:
    drawn = {table.name: table for table in metadata.tables.values()}
    tables = [drawn[name] for name in ("customers", "carts", "orders", "payments")]
    diagram = er_diagram(tables)

    assert '    customers ||..o{ orders : "customer_id"' in diagram
    assert '    orders ||..o| payments : "order_id"' in diagram
    assert "||--" not in diagram  # no foreign key among these: no context reaches into another
    # A link to a table left out of the diagram is not drawn.
    assert "product_variants" not in diagram
    assert "||--o{ product_variants" in er_diagram([drawn["products"], drawn["product_variants"]])
