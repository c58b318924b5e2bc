"""Access tokens and the caller's identity.

Access tokens are short-lived JWTs signed with HS256, and only HS256 is accepted: `alg: none`
and algorithm confusion fail before any claim is read. `exp`, `iat`, `iss`, `aud` and `sub`
are required. Refresh tokens are opaque and live in the customers context (rotated, hashed).
An access token names its login (`sid`: the refresh-token family), so a login that ends ends
its access tokens at once (adapters/machinery/revocations.py).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from adapters.machinery.revocations import LocalRevocations, Revocations
from shopcore.customers.model import Role

ALGORITHM = "HS256"
# Clock skew allowed between the servers that issue and check a token, in seconds.
LEEWAY = 5


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF


class TokenService:
    def __init__(
        self,
        secret: str,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        revocations: Revocations | None = None,
    ) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT signing key must be at least 32 bytes")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self.revocations: Revocations = revocations or LocalRevocations()

    def issue(
        self, customer_id: str, role: Role, *, now: float | None = None, login: str | None = None
    ) -> str:
        """An access token; `login`: the refresh-token family it belongs to, whose end (a
        logout, a reused refresh token) revokes it."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": customer_id,
            "role": role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
        }
        if login is not None:
            claims["sid"] = login
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    async def end_login(self, family_id: str) -> None:
        """Refuse the login's access tokens from now on, until the last of them expires."""
        await self.revocations.revoke(family_id, time.time() + self.ttl_seconds + LEEWAY)

    def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=LEEWAY,
            )
            principal = Principal(
                customer_id=str(claims["sub"]), role=Role(str(claims.get("role", "")))
            )
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            raise NotAuthorizedException("the access token is invalid or expired") from error
        login = claims.get("sid")
        if isinstance(login, str) and self.revocations.revoked(login):
            raise NotAuthorizedException("the access token's login has ended")
        return principal


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 4096:
        raise NotAuthorizedException("use 'Authorization: Bearer <access token>'")
    return token.strip()


def tokens_of(connection: ASGIConnection[Any, Any, Any, Any]) -> TokenService:
    service: TokenService = connection.app.state["tokens"]
    return service


async def optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller when a token came with the request; anonymous callers get None."""
    token = bearer_token(request)
    return None if token is None else tokens_of(request).verify(token)


async def required_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise NotAuthorizedException("this endpoint needs an access token")
    return principal


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for /v1/admin: 401 without a valid token, 403 for a customer's token."""
    token = bearer_token(connection)
    if token is None:
        raise NotAuthorizedException("staff endpoints need an access token")
    if not tokens_of(connection).verify(token).is_staff:
        raise PermissionDeniedException("staff only")
