"""shopcore: the domain core of an online shop, usable as a library.

The commands below are what a shop is asked to do; `bootstrap` wires the core to adapters
(see `apps.containers.in_memory_shop` for a complete in-memory shop).
"""

from shopcore.bootstrap import Links, Ports, Shop, bootstrap
from shopcore.cart.commands import (
    AddCartItem,
    ChangeCartItem,
    CreateCart,
    MergeCarts,
    RemoveCartItem,
)
from shopcore.cart.model import CartAccess
from shopcore.catalog.commands import ArchiveProduct, CreateProduct, UpdateProduct
from shopcore.catalog.model import Variant
from shopcore.customers.commands import (
    AddAddress,
    Authenticate,
    EndSession,
    EnsureStaff,
    RegisterCustomer,
    RotateSession,
    StartSession,
)
from shopcore.inventory.commands import (
    AdjustStock,
    ExpireReservations,
    ReceiveStock,
    ReleaseReservation,
    ReserveStock,
)
from shopcore.ordering.commands import CancelOrder, DeliverOrder, PlaceOrder, RefundOrder, ShipOrder
from shopcore.ordering.model import OrderStatus
from shopcore.shared.address import Address
from shopcore.shared.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Busy,
    ConcurrencyConflict,
    Conflict,
    EmptyCart,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PermissionDenied,
    ShopError,
    TransientConflict,
    WeakPassword,
)
from shopcore.shared.money import Money

__all__ = [
    "AddAddress",
    "AddCartItem",
    "Address",
    "AdjustStock",
    "AlreadyExists",
    "ArchiveProduct",
    "Authenticate",
    "AuthenticationFailed",
    "Busy",
    "CancelOrder",
    "CartAccess",
    "ChangeCartItem",
    "ConcurrencyConflict",
    "Conflict",
    "CreateCart",
    "CreateProduct",
    "DeliverOrder",
    "EmptyCart",
    "EndSession",
    "EnsureStaff",
    "ExpireReservations",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidInput",
    "Links",
    "MergeCarts",
    "Money",
    "NotFound",
    "OrderStatus",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentGatewayUnavailable",
    "PermissionDenied",
    "PlaceOrder",
    "Ports",
    "ReceiveStock",
    "RefundOrder",
    "RegisterCustomer",
    "ReleaseReservation",
    "RemoveCartItem",
    "ReserveStock",
    "RotateSession",
    "ShipOrder",
    "Shop",
    "ShopError",
    "StartSession",
    "TransientConflict",
    "UpdateProduct",
    "Variant",
    "WeakPassword",
    "bootstrap",
]
