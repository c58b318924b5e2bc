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

# shared/validation.py `text`: no control character but tab and newline; trimmed, and where
# a field is required, something must be left.
_CONTROL = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
TEXT = f"^[^{_CONTROL}]*$"
FILLED_TEXT = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
# The request fields the core reads with `validation.text`, and whether each may be blank.
_TEXTS = {
    "ProductIn": {"name": FILLED_TEXT, "description": TEXT},
    "ProductPatch": {"name": FILLED_TEXT, "description": TEXT},
    "StockAdjustmentIn": {"reason": FILLED_TEXT},
    "StockReceiptIn": {"reason": FILLED_TEXT},
    "AddressIn": {
        "name": FILLED_TEXT,
        "line1": FILLED_TEXT,
        "line2": TEXT,
        "city": FILLED_TEXT,
        "postal_code": FILLED_TEXT,
    },
    "Registration": {"name": TEXT},
}


def state_nested_rules(openapi: OpenAPI) -> None:
    schemas = openapi.components.schemas
    if not isinstance(schemas, dict):  # pragma: no cover - Litestar always sets it
        return
    for name, fields in _TEXTS.items():
        schema = schemas.get(name)
        properties = schema.properties if isinstance(schema, Schema) else None
        for field, pattern in fields.items():
            for text in _strings((properties or {}).get(field)):
                text.pattern = pattern
    variant = schemas.get("VariantIn")
    if isinstance(variant, Schema) and variant.properties:
        attributes = variant.properties.get("attributes")
        if isinstance(attributes, Schema):
            # schemas/admin.py `Attributes`: names of 1-50 characters, values of 1-100.
            attributes.additional_properties = Schema(
                type=OpenAPIType.STRING, min_length=1, max_length=100, pattern=FILLED_TEXT
            )
            attributes.property_names = Schema(min_length=1, max_length=50, pattern=FILLED_TEXT)
            attributes.max_properties = MAX_ATTRIBUTES
    for name, field in (("Registration", "password"), ("PasswordChange", "new_password")):
        request = schemas.get(name)
        password = (request.properties or {}).get(field) if isinstance(request, Schema) else None
        if isinstance(password, Schema):
            # customers/password_policy.py, after NFKC: a shorter or longer one is weak (422).
            password.min_length, password.max_length = MIN_LENGTH, MAX_LENGTH
    address = schemas.get("AddressIn")
    if isinstance(address, Schema) and address.properties:
        country = address.properties.get("country")
        if isinstance(country, Schema):
            # shared/address.py: one of the officially assigned ISO 3166-1 alpha-2 codes.
            country.enum = sorted(COUNTRIES)
    listing = (openapi.paths or {}).get("/v1/products")
    listed: Operation | None = getattr(listing, "get", None)
    for parameter in (listed.parameters or []) if listed else []:
        if (
            isinstance(parameter, Parameter)
            and parameter.name in ("min_price", "max_price")
            and isinstance(parameter.schema, Schema)
        ):
            # `QueryParameter(ge=0)`: Litestar leaves a bound of 0 out of the document.
            parameter.schema.minimum = 0
    stream = (openapi.paths or {}).get("/v1/inventory/stream")
    operation: Operation | None = getattr(stream, "get", None)
    for parameter in (operation.parameters or []) if operation else []:
        if isinstance(parameter, Parameter) and parameter.name == "sku":
            items = parameter.schema.items if isinstance(parameter.schema, Schema) else None
            if isinstance(items, Schema):
                items.pattern = SKU_PATTERN


def _strings(schema: object) -> list[Schema]:
    """The string schemas of a property: itself, or the string among its `oneOf` (optional)."""
    if not isinstance(schema, Schema):
        return []
    if schema.type == OpenAPIType.STRING:
        return [schema]
    return [
        one
        for one in schema.one_of or []
        if isinstance(one, Schema) and one.type == OpenAPIType.STRING
    ]
