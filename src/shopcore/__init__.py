"""shopcore: the domain core of an online shop, usable as a library.

Everything a library user needs is importable from here, and only that: the commands a shop
is asked to do, what each of them returns (`await shop.handle(PlaceOrder(...))` is an Order),
the reads over `shop.uow()` and `shop.ports.catalog_views`, the errors they raise, and the
wiring (`bootstrap`; see `apps.components.in_memory_shop` for a complete in-memory shop).
Ports, events and handlers stay in their contexts' modules. `__all__` is grouped by kind, each
group sorted; tests hold that every command and what it returns, and every error, is exported
and that every exported name resolves.

Importing shopcore loads the standard library and msgspec only, never a framework or driver,
and no adapter: a test checks `sys.modules` in a fresh interpreter.

`__version__` is a constant that a test keeps equal to pyproject's version, rather than read
with `importlib.metadata`: the installed metadata of an editable install is the version at
install time (stale after a bump until the next `make install`), absent when the source tree
is used without installing it, and a lookup on every import; the constant has none of that.
"""

from shopcore.bootstrap import Links, Ports, Shop, bootstrap
from shopcore.cart.commands import (
    AbandonCheckout,
    AddCartItem,
    BeginCheckout,
    ChangeCartItem,
    CompleteCheckout,
    CreateCart,
    MergeCarts,
    RemoveCartItem,
)
from shopcore.cart.model import Cart, CartAccess
from shopcore.cart.queries import checkout_contents, get_cart
from shopcore.cart.results import CheckoutLines, OpenedCart
from shopcore.catalog.commands import ArchiveProduct, CreateProduct, UpdateProduct
from shopcore.catalog.model import Product, Variant
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.queries import get_product, list_products, price_list
from shopcore.catalog.views import ProductView, SkuPrice
from shopcore.customers.commands import (
    AddAddress,
    Authenticate,
    ChangePassword,
    EndSession,
    EnsureStaff,
    RegisterCustomer,
    RotateSession,
    StartSession,
)
from shopcore.customers.model import Customer
from shopcore.customers.queries import email_of, get_customer
from shopcore.customers.sessions import SessionGrant
from shopcore.inventory.commands import (
    AdjustStock,
    AllocateReservation,
    ExpireReservations,
    ReceiveStock,
    ReleaseReservation,
    ReserveStock,
    ShipReservation,
)
from shopcore.inventory.model import Reservation, StockLevel, StockMovement
from shopcore.inventory.queries import availability, movements, stock_levels
from shopcore.ordering.commands import (
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    RecoverOrders,
    RefundOrder,
    ResumeOrder,
    ShipOrder,
)
from shopcore.ordering.model import Order, OrderStatus
from shopcore.ordering.queries import get_order, list_orders
from shopcore.payments.commands import (
    AuthorizePayment,
    CapturePayment,
    ReconcilePayment,
    RecordPayment,
    RefundPayment,
    VoidPayment,
)
from shopcore.payments.model import Payment
from shopcore.payments.queries import get_payment, payments_for_order
from shopcore.shared.address import Address
from shopcore.shared.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Busy,
    CheckoutInterrupted,
    ConcurrencyConflict,
    Conflict,
    ConnectionLost,
    CurrencyMismatch,
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
    Unavailable,
    WeakPassword,
    WrongPassword,
)
from shopcore.shared.money import Money
from shopcore.shared.pagination import Page

__version__ = "0.1.0"

__all__ = ["__version__"]
__all__ += [
    # Wiring: build a shop from ports and links, then send it commands.
    "Links",
    "Ports",
    "Shop",
    "bootstrap",
]
__all__ += [
    # Commands, every context's; `shop.handle(command)` returns what each declares.
    "AbandonCheckout",
    "AddAddress",
    "AddCartItem",
    "AdjustStock",
    "AllocateReservation",
    "ArchiveProduct",
    "Authenticate",
    "AuthorizePayment",
    "BeginCheckout",
    "CancelOrder",
    "CapturePayment",
    "ChangeCartItem",
    "ChangePassword",
    "CompleteCheckout",
    "CreateCart",
    "CreateProduct",
    "DeliverOrder",
    "EndSession",
    "EnsureStaff",
    "ExpireReservations",
    "MergeCarts",
    "PlaceOrder",
    "ReceiveStock",
    "ReconcilePayment",
    "RecordPayment",
    "RecoverOrders",
    "RefundOrder",
    "RefundPayment",
    "RegisterCustomer",
    "ReleaseReservation",
    "RemoveCartItem",
    "ReserveStock",
    "ResumeOrder",
    "RotateSession",
    "ShipOrder",
    "ShipReservation",
    "StartSession",
    "UpdateProduct",
    "VoidPayment",
]
__all__ += [
    # Values that commands carry.
    "Address",
    "CartAccess",
    "Money",
    "Variant",
]
__all__ += [
    # What commands return.
    "Cart",
    "CheckoutLines",
    "Customer",
    "OpenedCart",
    "Order",
    "Payment",
    "Product",
    "Reservation",
    "SessionGrant",
]
__all__ += [
    # Reads over `shop.uow()` (the catalog's over `shop.ports.catalog_views`), with the
    # filters and pages they take and give.
    "OrderStatus",
    "Page",
    "ProductFilter",
    "ProductView",
    "SkuPrice",
    "StockLevel",
    "StockMovement",
    "availability",
    "checkout_contents",
    "email_of",
    "get_cart",
    "get_customer",
    "get_order",
    "get_payment",
    "get_product",
    "list_orders",
    "list_products",
    "movements",
    "payments_for_order",
    "price_list",
    "stock_levels",
]
__all__ += [
    # Errors: one tree under ShopError, drawn at the top of shopcore.shared.errors.
    "AlreadyExists",
    "AuthenticationFailed",
    "Busy",
    "CheckoutInterrupted",
    "ConcurrencyConflict",
    "Conflict",
    "ConnectionLost",
    "CurrencyMismatch",
    "EmptyCart",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidInput",
    "NotFound",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentGatewayUnavailable",
    "PermissionDenied",
    "ShopError",
    "TransientConflict",
    "Unavailable",
    "WeakPassword",
    "WrongPassword",
]
