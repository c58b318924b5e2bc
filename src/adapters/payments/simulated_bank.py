"""The simulated bank's rules, apart from where its books are kept.

    tok_visa     approves       tok_decline  declines      tok_error  fails as an outage

A charge is authorized for an amount; it is captured at most once, for at most that amount and
in its currency, and only while not voided; it is voided only while nothing is captured; it is
refunded in parts (in its currency, each above zero) that add up to at most what was captured.

Each rule takes a charge as it was read (None for an unknown reference), changes it in place
when it approves, and answers; a refusal leaves the charge as it was. The memory gateway
(simulated.py) keeps its charges in a dict and the SQL one (adapters/db/simulated_gateway.py)
in rows it locks for the call: both answer alike because both ask these functions, and only
the storing of a charge and of an answer differs between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money

APPROVE = "tok_visa"
DECLINE = "tok_decline"
OUTAGE = "tok_error"


@dataclass
class Charge:
    """One authorization's ledger; `captured` and `refunded` are minor units of its currency."""

    amount: Money
    captured: int = 0
    refunded: int = 0
    voided: bool = False


def check_up(token: str) -> None:
    """tok_error plays an outage: it raises before anything is stored, so the key stays free
    and a retry gets a real answer."""
    if token == OUTAGE:
        raise PaymentGatewayUnavailable("the simulated gateway is down (tok_error)")


def authorize(amount: Money, token: str) -> tuple[str | None, Charge | None, GatewayResponse]:
    """A new charge under a new reference for tok_visa; any other card is declined."""
    if token != APPROVE:
        return None, None, GatewayResponse(approved=False, reference=None, message="card declined")
    reference = f"ch_{new_id()}"
    return reference, Charge(amount=amount), _approved(reference, "approved")


def capture(reference: str, charge: Charge | None, amount: Money) -> GatewayResponse:
    if (
        charge is None
        or charge.voided
        or charge.captured
        or amount.currency != charge.amount.currency
        or not 0 < amount.amount <= charge.amount.amount
    ):
        return _refused(reference, "cannot capture")
    charge.captured = amount.amount
    return _approved(reference, "captured")


def void(reference: str, charge: Charge | None) -> GatewayResponse:
    if charge is None or charge.captured:
        return _refused(reference, "cannot void")
    charge.voided = True
    return _approved(reference, "voided")


def refund(reference: str, charge: Charge | None, amount: Money) -> GatewayResponse:
    if (
        charge is None
        or amount.currency != charge.amount.currency
        or amount.amount <= 0
        or charge.refunded + amount.amount > charge.captured
    ):
        return _refused(reference, "cannot refund")
    charge.refunded += amount.amount
    return _approved(reference, "refunded")


def _approved(reference: str, message: str) -> GatewayResponse:
    return GatewayResponse(approved=True, reference=reference, message=message)


def _refused(reference: str, message: str) -> GatewayResponse:
    return GatewayResponse(approved=False, reference=reference, message=message)
