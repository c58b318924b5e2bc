"""Registration and the caller's own account over HTTP, and the access token checks behind it."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from shopcore import AddAddress, Address
from shopcore.customers.model import Customer, Role
from shopcore.customers.queries import get_customer
from shopcore.shared.ids import new_id
from tests.e2e.test_auth_api import assert_problem
from tests.support.api import JWT_SECRET, PASSWORD, Api

REGISTRATION = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada Lovelace"}


async def register(api: Api, **changes: Any) -> httpx.Response:
    return await api.client.post("/v1/customers", json={**REGISTRATION, **changes})


async def customer_count(api: Api, email: str) -> int:
    async with api.shop.uow() as uow:
        return 0 if await uow.customers.get_by_email(email) is None else 1


# -- registration --------------------------------------------------------------------------
async def test_registering_creates_a_customer_account(api: Api) -> None:
    response = await register(api, email=" Ada@Example.com ")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "email", "name", "role", "addresses", "created_at"}
    assert (body["email"], body["name"], body["role"]) == (
        "ada@example.com",
        "Ada Lovelace",
        "customer",
    )
    assert body["addresses"] == []
    assert "hash" not in response.text and PASSWORD not in response.text
    stored = await get_customer(api.shop.uow(), body["id"])
    assert stored is not None
    assert stored.role is Role.CUSTOMER
    assert stored.password_hash != PASSWORD
    login = await api.client.post(
        "/v1/auth/token", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200


async def test_the_name_is_optional(api: Api) -> None:
    response = await api.client.post(
        "/v1/customers", json={"email": "bob@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    assert response.json()["name"] == ""


async def test_an_email_that_is_taken_is_a_409_problem(api: Api) -> None:
    await api.customer("ada@example.com")

    response = await register(api, email="ADA@example.com", password="another long passphrase")

    body = assert_problem(response, 409, "already-exists")
    assert body["detail"] == "an account with this email already exists"


@pytest.mark.parametrize(
    ("password", "detail"),
    [
        ("short", "a password must be 12 to 128 characters long"),
        ("x" * 129, "a password must be 12 to 128 characters long"),
        ("aaaaaaaaaaaaaaaa", "a password needs at least 4 different characters"),
        ("Password1234", "this password is too common"),
        ("I am Lovelace, hi", "a password must not contain the email address"),
    ],
    ids=["short", "long", "repetitive", "common", "contains-email"],
)
async def test_a_weak_password_is_a_422_problem(api: Api, password: str, detail: str) -> None:
    response = await register(api, email="lovelace@example.com", password=password)

    body = assert_problem(response, 422, "weak-password")
    assert body["detail"] == detail
    assert await customer_count(api, "lovelace@example.com") == 0


@pytest.mark.parametrize(
    "email", ["not-an-email", "ada@localhost", "ada\u0000@example.com", "ada\u200b@example.com"]
)
async def test_an_invalid_email_is_a_422_problem(api: Api, email: str) -> None:
    response = await register(api, email=email)

    body = assert_problem(response, 422, "invalid-input")
    assert body["detail"] == "email is not a valid address"


async def test_a_name_with_control_characters_is_a_422_problem(api: Api) -> None:
    response = await register(api, name="Ada\u0000Lovelace")

    assert_problem(response, 422, "invalid-input")


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "staff"},
        {"id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"},
        {"customer_id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"},
        {"password_hash": "argon2id$forged"},
        {"addresses": []},
    ],
    ids=["role", "id", "customer_id", "password_hash", "addresses"],
)
async def test_fields_a_customer_may_not_set_are_refused(api: Api, extra: dict[str, Any]) -> None:
    response = await api.client.post("/v1/customers", json={**REGISTRATION, **extra})

    body = assert_problem(response, 400, "invalid-request")
    assert body["errors"] == [
        {
            "message": f"Object contains unknown field `{next(iter(extra))}`",
            "key": "data",
            "source": "body",
        }
    ]
    assert await customer_count(api, "ada@example.com") == 0


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "name": "Ada"},
        {"email": 42, "password": PASSWORD},
        {"email": "ada@example.com", "password": PASSWORD, "name": "A" * 201},
        {"email": "ada@example.com", "password": "p" * 1025},
        ["ada@example.com", PASSWORD],
    ],
    ids=["missing-password", "wrong-type", "huge-name", "huge-password", "not-an-object"],
)
async def test_a_malformed_registration_is_a_400_problem(api: Api, body: Any) -> None:
    response = await api.client.post("/v1/customers", json=body)

    assert_problem(response, 400, "invalid-request")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": "ada@example.com", "password": ',
        b'{"email": "\xff\xfe", "password": "x"}',
    ],
    ids=["truncated", "invalid-utf8"],
)
async def test_a_body_that_is_not_json_is_a_400_problem(api: Api, raw: bytes) -> None:
    response = await api.client.post(
        "/v1/customers", content=raw, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_oversized_body_is_refused(api: Api) -> None:
    response = await register(api, name="A" * 100_000)

    assert_problem(response, 413, "payload-too-large")


# -- the caller's account ------------------------------------------------------------------
async def test_me_shows_the_callers_account_and_address_book(api: Api) -> None:
    customer = await api.customer()
    address = Address(
        name="Ada Lovelace", line1="1 Main Street", city="Berlin", postal_code="10115", country="DE"
    )
    await api.shop.handle(AddAddress(customer_id=customer.id, address=address))

    response = await api.client.get("/v1/customers/me", headers=api.auth(customer))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["email"], body["role"]) == (customer.id, customer.email, "customer")
    assert body["addresses"] == [
        {
            "name": "Ada Lovelace",
            "line1": "1 Main Street",
            "line2": "",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        }
    ]
    assert "password" not in response.text


async def test_me_shows_a_staff_members_role(api: Api) -> None:
    staff = await api.staff()

    response = await api.client.get("/v1/customers/me", headers=api.auth(staff))

    assert response.json()["role"] == "staff"


async def test_me_without_a_token_is_a_401_problem(api: Api) -> None:
    response = await api.client.get("/v1/customers/me")

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


# -- access tokens that must not work ------------------------------------------------------
def claims(customer: Customer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": customer.id,
        "role": customer.role.value,
        "iss": "shopcore",
        "aud": "shopcore-api",
        "iat": now,
        "exp": now + 600,
    }
    values.update(changes)
    return values


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def with_role_edited(token: str, role: str) -> str:
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["role"] = role
    return f"{header}.{b64(decoded)}.{signature}"


async def test_a_token_signed_by_the_shop_is_accepted(api: Api) -> None:
    """The control for the cases below: a token made like them, but right, works."""
    customer = await api.customer()
    token = jwt.encode(claims(customer), JWT_SECRET, algorithm="HS256")

    response = await api.client.get(
        "/v1/customers/me", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200


FORGERIES = {
    "alg-none": lambda c: jwt.encode(claims(c), None, algorithm="none"),
    "alg-none-with-signature": lambda c: (
        b64({"alg": "none", "typ": "JWT"})
        + "."
        + b64(claims(c))
        + "."
        + jwt.encode(claims(c), JWT_SECRET, algorithm="HS256").split(".")[2]
    ),
    "another-key": lambda c: jwt.encode(claims(c), "another-key-" + "z" * 32, algorithm="HS256"),
    "another-algorithm": lambda c: jwt.encode(claims(c), JWT_SECRET, algorithm="HS512"),
    "role-edited": lambda c: with_role_edited(
        jwt.encode(claims(c), JWT_SECRET, algorithm="HS256"), "staff"
    ),
    "signature-tampered": lambda c: (
        jwt.encode(claims(c), JWT_SECRET, algorithm="HS256")[:-4] + "AAAA"
    ),
    "expired": lambda c: jwt.encode(
        claims(c, iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
        JWT_SECRET,
        algorithm="HS256",
    ),
    "wrong-issuer": lambda c: jwt.encode(claims(c, iss="evil"), JWT_SECRET, algorithm="HS256"),
    "wrong-audience": lambda c: jwt.encode(
        claims(c, aud="another-api"), JWT_SECRET, algorithm="HS256"
    ),
    "no-expiry": lambda c: jwt.encode(
        {k: v for k, v in claims(c).items() if k != "exp"}, JWT_SECRET, algorithm="HS256"
    ),
    "unknown-role": lambda c: jwt.encode(claims(c, role="root"), JWT_SECRET, algorithm="HS256"),
    "garbage": lambda c: "not.a.jwt",
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_forged_or_stale_token_is_a_401_problem(api: Api, forgery: str) -> None:
    customer = await api.customer()
    token = FORGERIES[forgery](customer)

    response = await api.client.get(
        "/v1/customers/me", headers={"Authorization": f"Bearer {token}"}
    )

    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "the access token is invalid or expired"


@pytest.mark.parametrize(
    "header", ["Basic YWRhOnNlY3JldA==", "Bearer", "Bearer ", "Token abc", "Bearer " + "a" * 5000]
)
async def test_a_malformed_authorization_header_is_a_401_problem(api: Api, header: str) -> None:
    response = await api.client.get("/v1/customers/me", headers={"Authorization": header})

    assert_problem(response, 401, "unauthorized")


async def test_a_valid_token_for_an_account_that_does_not_exist_is_a_401_problem(
    api: Api,
) -> None:
    token = api.services.tokens.issue(new_id(), Role.CUSTOMER)

    response = await api.client.get(
        "/v1/customers/me", headers={"Authorization": f"Bearer {token}"}
    )

    assert_problem(response, 401, "unauthorized")
