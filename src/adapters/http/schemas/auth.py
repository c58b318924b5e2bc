"""Logging in, refreshing and logging out: credentials in, a token pair out."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shopcore.customers.sessions import MAX_TOKEN_LENGTH

# Loose bounds on purpose: they stop abuse at the door, while the core decides what a valid
# address or password is, and answers every mismatch the same way.
Email = Annotated[str, msgspec.Meta(min_length=1, max_length=320, examples=["ada@example.com"])]
Password = Annotated[
    str, msgspec.Meta(min_length=1, max_length=1024, examples=["correct horse battery"])
]
RefreshToken = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_TOKEN_LENGTH,
        description="the opaque `refresh_token` of the last token pair",
        examples=["b0Xz1N2bq4hW7yQm8cV3sJ5kL9pR6tA2dF4gH8jK0mE"],
    ),
]


class Credentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: RefreshToken


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    """A short-lived access token (JWT) and the refresh token that renews it, once."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int  # seconds the access token is valid for
    refresh_expires_in: int  # seconds the refresh token is valid for, if not used before


TOKEN_PAIR_EXAMPLE = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTkzIn0.c2lnbmF0dXJl",
    "refresh_token": "b0Xz1N2bq4hW7yQm8cV3sJ5kL9pR6tA2dF4gH8jK0mE",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_expires_in": 2592000,
}
