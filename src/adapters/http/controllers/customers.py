"""Customer accounts: registration, the caller's own account and its password."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from adapters.http.problem_docs import INVALID_REQUEST, UNAUTHORIZED, problem
from adapters.http.schemas.customers import (
    CUSTOMER_EXAMPLE,
    CustomerOut,
    PasswordChange,
    Registration,
)
from adapters.http.security import Principal, required_principal
from adapters.http.throttling import limited
from shopcore.bootstrap import Shop
from shopcore.customers.commands import ChangePassword, RegisterCustomer
from shopcore.customers.queries import get_customer
from shopcore.shared.errors import NotFound

WEAK_PASSWORD = problem(
    422,
    "weak-password",
    "The password or another value is refused (`weak-password`, `invalid-input`)",
    "a password must be 12 to 128 characters long",
)
TOO_MANY_ATTEMPTS = problem(429, "rate-limited", "Too many attempts from this address")


def _nobody() -> NotAuthorizedException:
    # A well-signed token for an account that is gone identifies nobody.
    return NotAuthorizedException("the access token's account does not exist")


def _customer(description: str) -> ResponseSpec:
    return ResponseSpec(
        CustomerOut,
        description=description,
        generate_examples=False,
        examples=[Example(summary="a customer", value=CUSTOMER_EXAMPLE)],
    )


class CustomersController(Controller):
    path = "/v1/customers"
    tags = ("customers",)

    @post(
        status_code=201,
        # Registration hashes a password like a login does: it shares the login's limit.
        middleware=[limited("auth")],
        summary="Register",
        description="Create a customer account. The password must be 12 to 128 characters, "
        "not a common password and not contain the email address. The account is always a "
        "customer's: any other field, such as `role`, is refused. Log in afterwards with "
        "`POST /v1/auth/token`.",
        responses={
            201: _customer("The new account"),
            400: INVALID_REQUEST,
            409: problem(
                409,
                "already-exists",
                "An account with this email exists",
                "an account with this email already exists",
            ),
            422: WEAK_PASSWORD,
            429: TOO_MANY_ATTEMPTS,
        },
    )
    async def register(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[
            Registration,
            Body(
                examples=[
                    Example(
                        summary="a new customer",
                        value={
                            "email": "ada@example.com",
                            "password": "correct horse battery",
                            "name": "Ada Lovelace",
                        },
                    )
                ]
            ),
        ],
    ) -> CustomerOut:
        customer = await shop.handle(
            RegisterCustomer(email=data.email, password=data.password, name=data.name)
        )
        return CustomerOut.of(customer)

    @get(
        "/me",
        dependencies={"principal": Provide(required_principal)},
        security=[{"BearerToken": []}],
        summary="The caller's account",
        description="The account the access token belongs to: email, name, role and address book.",
        responses={200: _customer("The caller's account"), 401: UNAUTHORIZED},
    )
    async def me(
        self, shop: NamedDependency[Shop], principal: NamedDependency[Principal]
    ) -> CustomerOut:
        customer = await get_customer(shop.uow(), principal.customer_id)
        if customer is None:
            raise _nobody()
        return CustomerOut.of(customer)

    @post(
        "/me/password",
        status_code=204,
        dependencies={"principal": Provide(required_principal)},
        # The current password is checked like a login's: it shares the login's limit, so a
        # stolen access token cannot be used to guess it faster than a login could.
        middleware=[limited("auth")],
        security=[{"BearerToken": []}],
        summary="Change the password",
        description="Set a new password, giving the current one. The new one follows the "
        "registration's rules. Every login of the account ends at once on every server, this "
        "one included: its refresh tokens and its access tokens stop working, and the customer "
        "logs in again with the new password.",
        responses={
            400: INVALID_REQUEST,
            401: UNAUTHORIZED,
            403: problem(
                403,
                "wrong-password",
                "The current password is wrong",
                "the current password is wrong",
            ),
            409: problem(
                409,
                "concurrency-conflict",
                "The password changed while this request was checked; try again",
                "the password changed meanwhile; try again",
            ),
            422: WEAK_PASSWORD,
            429: TOO_MANY_ATTEMPTS,
        },
    )
    async def change_password(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal],
        data: Annotated[
            PasswordChange,
            Body(
                examples=[
                    Example(
                        summary="a new password",
                        value={
                            "current_password": "correct horse battery",
                            "new_password": "staple gun lighthouse orbit",
                        },
                    )
                ]
            ),
        ],
    ) -> None:
        change = ChangePassword(
            customer_id=principal.customer_id,
            current_password=data.current_password,
            new_password=data.new_password,
        )
        try:
            await shop.handle(change)
        except NotFound as gone:
            raise _nobody() from gone
