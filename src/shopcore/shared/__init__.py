"""Building blocks every context shares: money, ids, the clock port, messages and errors."""

from shopcore.shared.aggregate import Aggregate
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Busy,
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
    WeakPassword,
)
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command, Event, Message
from shopcore.shared.money import Money

__all__ = [
    "Aggregate",
    "AlreadyExists",
    "AuthenticationFailed",
    "Busy",
    "Clock",
    "Command",
    "ConcurrencyConflict",
    "Conflict",
    "ConnectionLost",
    "CurrencyMismatch",
    "EmptyCart",
    "Event",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidInput",
    "Message",
    "Money",
    "NotFound",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentGatewayUnavailable",
    "PermissionDenied",
    "ShopError",
    "TransientConflict",
    "WeakPassword",
    "new_id",
]
