"""What the shop keeps about one order, read in one go, and the `OrderState` it amounts to.

An order's record, its reservation, its cart and its payment are the shop's rows (read as
stored: nothing here changes them); the answer to its authorization and the charge behind it
are the bank's own ledger, found under the order's idempotency key, so a charge the shop
never got to record is found too.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.payments.simulated import Charge
from shopcore.cart.model import Cart
from shopcore.inventory.model import Reservation
from shopcore.ordering.model import Order
from shopcore.ordering.settling import authorize_key
from shopcore.payments.model import Payment, TransactionKind
from shopcore.payments.ports import GatewayResponse
from tests.properties.order_saga import PAID, Bank, OrderState, Refund
from tests.support.driver import ShopDriver


@dataclass(frozen=True)
class Stored:
    order: Order | None
    reservation: Reservation | None
    cart: Cart | None
    payment: Payment | None
    answer: GatewayResponse | None  # the bank's answer to the authorization, if it was asked
    charge: Charge | None  # the authorization the bank holds, if it approved

    @property
    def state(self) -> OrderState:
        order, cart = self.order, self.cart
        ours = cart is not None and order is not None and cart.order_id == order.id
        return OrderState(
            path=tuple(change.to_status for change in order.history) if order else (),
            settle_by=order.settle_by if order else None,
            failure=order.failure.code if order and order.failure else None,
            shipping=bool(order and order.shipping_started_at),
            reservation=self.reservation.status if self.reservation else None,
            cart=cart.status if cart is not None and ours else None,
            payment=self.payment.status if self.payment else None,
            bank=self._bank(),
            refunds=tuple(
                Refund(entry.key, entry.amount.amount, self._paid(entry.key), entry.completed)
                for entry in (order.refunds if order else [])
            ),
        )

    def _bank(self) -> Bank:
        if self.answer is None:
            return Bank.UNASKED
        if self.charge is None:
            return Bank.DECLINED
        if self.charge.voided:
            return Bank.VOIDED
        return Bank.CAPTURED if self.charge.captured else Bank.OPEN

    def _paid(self, key: str) -> bool:
        """Whether the refund under `key` went through at the bank and is on the payment."""
        return self.payment is not None and any(
            tx.kind is TransactionKind.REFUND and tx.succeeded and tx.idempotency_key == key
            for tx in self.payment.transactions
        )

    def assert_amounts(self, total: int) -> None:
        """The payment and the bank's charge hold what the order's state says, to the cent."""
        state, payment, charge = self.state, self.payment, self.charge
        if payment is not None:
            assert payment.amount.amount == total
            assert payment.captured.amount == (total if payment.status in PAID else 0)
            assert payment.refunded.amount == state.paid_back
            if charge is not None:
                assert self.answer is not None
                assert payment.gateway_reference == self.answer.reference
        if charge is not None:
            assert charge.amount.amount == total
            assert charge.captured == (total if state.bank is Bank.CAPTURED else 0)
            assert charge.refunded == state.paid_back


async def read(driver: ShopDriver, order_id: str, cart_id: str, order: Order | None) -> Stored:
    """What the shop keeps about the order `order_id` (whose record, if saved, is `order`)."""
    assert order is None or order.id == order_id
    async with driver.shop.uow() as uow:
        reservation = await uow.stock.reservation(order_id)
    payment = driver.store.payments.peek(order_id)  # the order's payment is named after it
    assert payment is None or payment.order_id == order_id
    answer = await driver.gateway.lookup(authorize_key(order_id))
    reference = answer.reference if answer is not None else None
    return Stored(
        order=order,
        reservation=reservation,
        cart=driver.store.carts.peek(cart_id),
        payment=payment,
        answer=answer,
        charge=driver.gateway.charges[reference] if reference is not None else None,
    )
