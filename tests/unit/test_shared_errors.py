from __future__ import annotations

import pytest

from shopcore.shared import errors
from shopcore.shared.errors import OutOfStock, ShopError


@pytest.mark.parametrize(
    ("kind", "code", "parent"),
    [
        (errors.ShopError, "shop-error", Exception),
        (errors.InvalidInput, "invalid-input", errors.ShopError),
        (errors.CurrencyMismatch, "currency-mismatch", errors.InvalidInput),
        (errors.WeakPassword, "weak-password", errors.InvalidInput),
        (errors.EmptyCart, "empty-cart", errors.InvalidInput),
        (errors.NotFound, "not-found", errors.ShopError),
        (errors.AuthenticationFailed, "authentication-failed", errors.ShopError),
        (errors.PermissionDenied, "permission-denied", errors.ShopError),
        (errors.Conflict, "conflict", errors.ShopError),
        (errors.AlreadyExists, "already-exists", errors.Conflict),
        (errors.ConcurrencyConflict, "concurrency-conflict", errors.Conflict),
        (errors.TransientConflict, "transient-conflict", errors.ConcurrencyConflict),
        (errors.ConnectionLost, "connection-lost", errors.TransientConflict),
        (errors.IllegalTransition, "illegal-transition", errors.Conflict),
        (errors.InsufficientStock, "insufficient-stock", errors.Conflict),
        (errors.PaymentDeclined, "payment-declined", errors.ShopError),
        (errors.PaymentGatewayUnavailable, "payment-gateway-unavailable", errors.ShopError),
        (errors.Busy, "busy", errors.ShopError),
    ],
)
def test_each_error_has_its_own_code_under_its_documented_parent(
    kind: type[ShopError], code: str, parent: type[Exception]
) -> None:
    error = kind("something went wrong")

    assert error.code == code
    assert kind.__mro__[1] is parent
    assert error.detail == "something went wrong"
    assert str(error) == "something went wrong"


def test_codes_are_unique_so_the_http_adapter_can_map_them_one_to_one() -> None:
    def family(kind: type[ShopError]) -> list[type[ShopError]]:
        return [kind, *(d for sub in kind.__subclasses__() for d in family(sub))]

    kinds = family(ShopError)
    codes = [kind.code for kind in kinds]

    assert len(kinds) >= 18
    assert len(set(codes)) == len(codes)


def test_out_of_stock_names_each_short_sku_once_in_order() -> None:
    error = OutOfStock(["TEE-M", "CAP", "TEE-M"])

    assert error.code == "out-of-stock"
    assert isinstance(error, errors.Conflict)
    assert error.skus == ("CAP", "TEE-M")
    assert error.detail == "not enough stock for: CAP, TEE-M"
