"""Domain errors. One base class; the HTTP adapter maps each `code` to a problem type once.

ShopError
├── InvalidInput                 bad values in a command (422)
│   ├── CurrencyMismatch
│   ├── WeakPassword
│   └── EmptyCart
├── NotFound                     unknown id, or one the caller may not see (404)
├── AuthenticationFailed         wrong credentials or token (401)
├── PermissionDenied             authenticated but not allowed (403)
│   └── WrongPassword            the current password, asked again to change it, is wrong
├── Conflict                     the request clashes with the current state (409)
│   ├── AlreadyExists            unique email, SKU or slug taken
│   ├── ConcurrencyConflict      someone else changed the aggregate first; retry
│   │   └── TransientConflict    the database gave up on a deadlock or serialization
│   │       │                    failure; the bus retries the command with backoff
│   │       └── ConnectionLost   the database connection dropped mid-unit (a restart, a
│   │                            failover, pg_terminate_backend); the bus retries on a fresh
│   │                            connection; outside the bus it answers 503, not 409
│   ├── IllegalTransition        an order, payment or reservation state change the table forbids
│   ├── OutOfStock               not enough available stock; carries the short SKUs
│   └── InsufficientStock        an adjustment would push stock below what is promised
├── PaymentDeclined              the gateway refused the payment (402)
├── PaymentGatewayUnavailable    the gateway failed or timed out (503)
├── CheckoutInterrupted          a fault stopped the checkout and recovery undid it (503)
├── Unavailable                  the database cannot serve the shop as configured (missing,
│                                refusing the credentials, its schema behind the code's): an
│                                operator must act; a retry later may succeed (503)
└── Busy                         a command kept hitting transient conflicts; retry later (503)
"""

from __future__ import annotations

from collections.abc import Sequence


class ShopError(Exception):
    """Base of every error the core raises on purpose."""

    code = "shop-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ShopError):
    code = "invalid-input"


class CurrencyMismatch(InvalidInput):
    code = "currency-mismatch"


class WeakPassword(InvalidInput):
    code = "weak-password"


class EmptyCart(InvalidInput):
    code = "empty-cart"


class NotFound(ShopError):
    code = "not-found"


class AuthenticationFailed(ShopError):
    code = "authentication-failed"


class PermissionDenied(ShopError):
    code = "permission-denied"


class WrongPassword(PermissionDenied):
    code = "wrong-password"


class Conflict(ShopError):
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already-exists"


class ConcurrencyConflict(Conflict):
    code = "concurrency-conflict"


class TransientConflict(ConcurrencyConflict):
    code = "transient-conflict"


class ConnectionLost(TransientConflict):
    """A TransientConflict of its own so that logs and problem responses say what happened:
    the transaction died with its connection, so re-running the command is a retry like any
    other (the SQL adapter argues the case of a COMMIT cut off, in adapters/db/errors.py)."""

    code = "connection-lost"


class IllegalTransition(Conflict):
    code = "illegal-transition"


class OutOfStock(Conflict):
    code = "out-of-stock"

    def __init__(self, skus: Sequence[str]) -> None:
        self.skus = tuple(sorted(set(skus)))
        super().__init__(f"not enough stock for: {', '.join(self.skus)}")


class InsufficientStock(Conflict):
    code = "insufficient-stock"


class PaymentDeclined(ShopError):
    code = "payment-declined"


class PaymentGatewayUnavailable(ShopError):
    code = "payment-gateway-unavailable"


class CheckoutInterrupted(ShopError):
    """A process died or a connection failed in the middle of a checkout, and the recovery
    job undid what it had done: nothing is held, and the customer may simply try again."""

    code = "checkout-interrupted"


class Busy(ShopError):
    code = "busy"


class Unavailable(ShopError):
    code = "unavailable"


def error_for(code: str, detail: str, skus: Sequence[str] = ()) -> ShopError:
    """The error an earlier one was, rebuilt from its code (as an order keeps why its checkout
    failed): the class is found among ShopError's subclasses, not in a hand-kept table."""
    if code == OutOfStock.code:
        return OutOfStock(skus)
    kind = next((k for k in _subclasses(ShopError) if k.code == code), ShopError)
    return kind(detail)


def _subclasses(kind: type[ShopError]) -> list[type[ShopError]]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
