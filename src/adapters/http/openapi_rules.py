"""Rules the server enforces that Litestar's generated document leaves out, stated in it.

Litestar documents the bounds of a field's own type but drops those of the values inside a
mapping or a list (a variant's attribute values, the stream's SKUs), and some rules are the
core's, not the request type's (a new password's length, checked with the password policy so
that a weak one is answered as such, 422; the countries a shop ships to). A client, or a
fuzzer, reading the document must see them all: each is written here beside the rule it
states.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIType, Operation, Parameter, Schema

from adapters.http.schemas.carts import SKU_PATTERN
from shopcore.catalog.model import MAX_ATTRIBUTES
from shopcore.customers.password_policy import MAX_LENGTH, MIN_LENGTH
from shopcore.shared.address import COUNTRIES


def state_nested_rules(openapi: OpenAPI) -> None:
    schemas = openapi.components.schemas
    if not isinstance(schemas, dict):  # pragma: no cover - Litestar always sets it
        return
    variant = schemas.get("VariantIn")
    if isinstance(variant, Schema) and variant.properties:
        attributes = variant.properties.get("attributes")
        if isinstance(attributes, Schema):
            # schemas/admin.py `Attributes`: names of 1-50 characters, values of 1-100.
            attributes.additional_properties = Schema(
                type=OpenAPIType.STRING, min_length=1, max_length=100
            )
            attributes.property_names = Schema(min_length=1, max_length=50)
            attributes.max_properties = MAX_ATTRIBUTES
    registration = schemas.get("Registration")
    if isinstance(registration, Schema) and registration.properties:
        password = registration.properties.get("password")
        if isinstance(password, Schema):
            # customers/password_policy.py, after NFKC: a shorter or longer one is weak (422).
            password.min_length, password.max_length = MIN_LENGTH, MAX_LENGTH
    address = schemas.get("AddressIn")
    if isinstance(address, Schema) and address.properties:
        country = address.properties.get("country")
        if isinstance(country, Schema):
            # shared/address.py: one of the officially assigned ISO 3166-1 alpha-2 codes.
            country.enum = sorted(COUNTRIES)
    stream = (openapi.paths or {}).get("/v1/inventory/stream")
    operation: Operation | None = getattr(stream, "get", None)
    for parameter in (operation.parameters or []) if operation else []:
        if isinstance(parameter, Parameter) and parameter.name == "sku":
            items = parameter.schema.items if isinstance(parameter.schema, Schema) else None
            if isinstance(items, Schema):
                items.pattern = SKU_PATTERN
