"""Logging in, refreshing and logging out.

A login answers with a token pair: a short-lived JWT to send as `Authorization: Bearer`, and
an opaque refresh token that the customers context stores hashed and rotates on every use.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from adapters.http.problem_docs import INVALID_REQUEST, problem
from adapters.http.schemas.auth import TOKEN_PAIR_EXAMPLE, Credentials, RefreshIn, TokenPair
from adapters.http.security import tokens_of
from adapters.http.throttling import limited
from shopcore.bootstrap import Shop
from shopcore.customers.commands import Authenticate, EndSession, RotateSession, StartSession
from shopcore.customers.model import Customer
from shopcore.customers.sessions import SessionGrant

RATE_LIMITED = problem(
    429,
    "rate-limited",
    "Too many attempts from this address; wait for `Retry-After` seconds",
)
BAD_CREDENTIALS = problem(
    401, "authentication-failed", "The email or the password is wrong", "email or password is wrong"
)
BAD_REFRESH_TOKEN = problem(
    401,
    "authentication-failed",
    "The refresh token is unknown, expired, revoked or already used",
    "the refresh token is invalid, expired or revoked",
)
TOKEN_PAIR = ResponseSpec(
    TokenPair,
    description="A new token pair",
    generate_examples=False,
    examples=[Example(summary="token pair", value=TOKEN_PAIR_EXAMPLE)],
)
REFRESH_EXAMPLE = [
    Example(
        summary="the last refresh token",
        value={"refresh_token": TOKEN_PAIR_EXAMPLE["refresh_token"]},
    )
]


def token_pair(request: Request[Any, Any, Any], shop: Shop, grant: SessionGrant) -> TokenPair:
    tokens = tokens_of(request)
    customer: Customer = grant.customer
    refresh_left = grant.session.expires_at - shop.ports.clock.now()
    return TokenPair(
        access_token=tokens.issue(customer.id, customer.role, login=grant.session.family_id),
        refresh_token=grant.refresh_token,
        token_type="Bearer",
        expires_in=tokens.ttl_seconds,
        refresh_expires_in=max(0, int(refresh_left.total_seconds())),
    )


class AuthController(Controller):
    path = "/v1/auth"
    tags = ("auth",)

    @post(
        "/token",
        status_code=200,
        middleware=[limited("auth")],
        summary="Log in",
        description="Trade an email and password for a token pair. The access token is a JWT "
        "valid for `expires_in` seconds; the refresh token renews it through "
        "`POST /v1/auth/refresh`, once. A wrong password and an unknown email get the same "
        "answer. This route has a tighter rate limit per client address.",
        responses={
            200: TOKEN_PAIR,
            400: INVALID_REQUEST,
            401: BAD_CREDENTIALS,
            429: RATE_LIMITED,
        },
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        shop: NamedDependency[Shop],
        data: Annotated[
            Credentials,
            Body(
                examples=[
                    Example(
                        summary="credentials",
                        value={"email": "ada@example.com", "password": "correct horse battery"},
                    )
                ]
            ),
        ],
    ) -> TokenPair:
        customer = await shop.handle(Authenticate(email=data.email, password=data.password))
        grant = await shop.handle(StartSession(customer_id=customer.id))
        return token_pair(request, shop, grant)

    @post(
        "/refresh",
        status_code=200,
        middleware=[limited("auth")],
        summary="Refresh the access token",
        description="Trade a refresh token for a new token pair. Each refresh token works "
        "once: the answer carries its successor. Presenting a refresh token that was already "
        "used means it was copied, so every token of that login is revoked and the customer "
        "must log in again.",
        responses={
            200: TOKEN_PAIR,
            400: INVALID_REQUEST,
            401: BAD_REFRESH_TOKEN,
            429: RATE_LIMITED,
        },
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        shop: NamedDependency[Shop],
        data: Annotated[RefreshIn, Body(examples=REFRESH_EXAMPLE)],
    ) -> TokenPair:
        grant = await shop.handle(RotateSession(refresh_token=data.refresh_token))
        return token_pair(request, shop, grant)

    @post(
        "/logout",
        status_code=204,
        summary="Log out",
        description="Revoke the refresh token and every token of its login, its access tokens "
        "included, at once on every server. Idempotent: an unknown, expired or already "
        "revoked token also answers 204.",
        responses={400: INVALID_REQUEST},
    )
    async def logout(
        self,
        shop: NamedDependency[Shop],
        data: Annotated[RefreshIn, Body(examples=REFRESH_EXAMPLE)],
    ) -> None:
        await shop.handle(EndSession(refresh_token=data.refresh_token))
