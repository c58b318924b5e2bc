"""Finishing an order's work, whoever started it and wherever it stopped.

A checkout, a cancellation, a shipment and a refund each take several transactions, some of
them at the payment gateway. The order is the record of that work: its status says which way
the work goes, `settle_by` says it is not done yet, and everything it touches elsewhere is
keyed by the order id (the cart holds it, the reservation and the payment are named after it,
every gateway call carries a key derived from it). So each step below can tell from what is
stored whether it already happened, and is safe to run again: the request that started the
work runs them, and so does the recovery job (`resume`) once an order is past its
`settle_by`, after a crash, a dropped connection or a gateway that never answered.

Which way a half-done checkout goes:
- forward, when the payment is held (on the books, or at the gateway under the order's key):
  check the cart out, allocate the stock, confirm, in one transaction across the contexts
  (`together`);
- back otherwise, or when a forward step fails: end the order (payment_failed or cancelled,
  keeping the error its customer is answered), void what the gateway holds, release the stock,
  give the cart back. Each undo step is a no-op when there is nothing to undo.
An order settles only when every step of its direction is done, in the same transaction as
the last of them; until then the recovery job will come back to it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from shopcore.application.bus import retried
from shopcore.application.unit_of_work import Together
from shopcore.ordering.model import Failure, Order, OrderStatus
from shopcore.ordering.ports import (
    CartSource,
    HeldPayment,
    OrderingUnitOfWork,
    Payments,
    PaymentStanding,
    StockReservations,
)
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AlreadyExists,
    Busy,
    CheckoutInterrupted,
    ConcurrencyConflict,
    IllegalTransition,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    ShopError,
    TransientConflict,
)

logger = logging.getLogger("shopcore.settling")

S = OrderStatus
# Errors that end a checkout as a failed payment; any other ends it cancelled.
PAYMENT_ERRORS = (PaymentDeclined, PaymentGatewayUnavailable)


def authorize_key(order_id: str) -> str:
    return f"{order_id}:authorize"


def void_key(order_id: str) -> str:
    return f"{order_id}:void"


def capture_key(order_id: str) -> str:
    return f"{order_id}:capture"


@dataclass(frozen=True)
class Settler:
    """What finishing an order's work needs; each handler builds one from its dependencies."""

    uow: OrderingUnitOfWork
    clock: Clock
    carts: CartSource
    stock: StockReservations
    payments: Payments
    together: Together

    # -- the order itself -------------------------------------------------------------------

    async def get(self, order_id: str) -> Order:
        async with self.uow:
            order = await self.uow.orders.get(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        return order

    async def change(self, order_id: str, step: Callable[[Order], None]) -> Order:
        """Load the order, apply `step` and commit (version-checked); tried again after a
        transient failure, so `step` must check what it finds (a lost answer to a commit
        that went through leaves the order changed already). Losing the version check is
        such a failure too: the recovery job may be finishing this very work (a slow
        request, overtaken past its `settle_by`), and the step, read again, finds it done."""

        async def once() -> Order:
            async with self.uow:
                order = await self.uow.orders.get(order_id)
                if order is None:
                    raise NotFound(f"order {order_id} not found")
                step(order)
                try:
                    await self.uow.commit()
                except ConcurrencyConflict as conflict:
                    raise TransientConflict(conflict.detail) from conflict
            return order

        return await retried(once, f"changing order {order_id}")

    # -- forward ---------------------------------------------------------------------------

    async def complete_checkout(self, order: Order, held: HeldPayment | None = None) -> Order:
        """The payment is held: record it (`held`, when the books do not have it yet),
        check the cart out, allocate the stock, confirm and settle, in one transaction, so a
        crash leaves all of it to do again or none (the recovery job then finds the payment at
        the gateway, under the order's key, and puts it on the books first)."""

        # The checkout's own first attempt takes the order as it committed it, unread; any
        # later attempt (or the recovery job) reads it.
        known: Order | None = order if held is not None else None

        # (A payment the recovery job put on the books first is kept as it is: `record` keeps
        # a copy already there.)
        async def attempt() -> Order:
            nonlocal known, held
            try:
                return await self._complete(order.id, held, known)
            except AlreadyExists as error:
                if held is None:
                    raise
                # The recovery job put this authorization on the books meanwhile (a unit of
                # work may report the clash at its commit): go on with the recorded copy, and
                # with the order as stored (this attempt's confirmation of it rolled back).
                held, known = None, None
                raise TransientConflict(error.detail) from error
            except ConcurrencyConflict as error:
                if known is None:
                    raise
                # Changed since this checkout committed it (cancelled while paying, say):
                # read as it is now, and go on from there.
                known = None
                raise TransientConflict(error.detail) from error

        try:
            return await retried(attempt, f"completing the checkout of {order.id}")
        except (Busy, TransientConflict):
            raise  # the shop's own fault: the order lives on, unsettled, for recovery
        except OutOfStock as error:
            # The hold lapsed while the customer paid, and the stock went to someone else.
            return await self.fail(order.id, error, reason="stock_shortfall")
        except IllegalTransition as error:
            # Cancelled while paying (its stock released, so not allocated either).
            return await self.fail(order.id, error)

    async def _complete(
        self, order_id: str, held: HeldPayment | None, known: Order | None = None
    ) -> Order:
        async with self.together(self.uow):
            if known is not None:
                self.uow.orders.adopt(known)
                order: Order | None = known
            else:
                order = await self.uow.orders.get(order_id)
            if order is None:
                raise NotFound(f"order {order_id} not found")
            if order.status is S.CONFIRMED and order.settled:
                return order  # an earlier attempt's commit went through; its answer was lost
            if held is not None:
                await self.payments.record(held)
            await self.check_out_cart(order)
            # The stock last, as in the first transaction: its row locks are held to the commit.
            await self.stock.allocate(order.reservation_id)
            _confirm(order, self.clock)
            order.settle()
        return order

    async def check_out_cart(self, order: Order) -> None:
        """The last step of a placed order's checkout. A cart held longer than its checkout
        hold (the recovery job did not run for that long) may have been taken over by the
        customer's next checkout; the order is paid and keeps its own copy of the lines, so it
        goes on without the cart rather than never settling or shipping."""
        try:
            await self.carts.complete(order.cart_id, order.id)
        except IllegalTransition as error:
            logger.warning("order %s goes on without its cart: %s", order.id, error.detail)

    # -- back ------------------------------------------------------------------------------

    async def fail(self, order_id: str, error: ShopError, *, reason: str = "") -> Order:
        """End a checkout that cannot go on and undo what it did. The answer is then what the
        order says, as a retry of its key would be told: the error it ended with (this one,
        or the one it ended with already when someone else ended it first), raised; or the
        order itself, when the recovery job running beside a stalled request placed it."""
        failure = Failure.of(error)
        order = await self.change(
            order_id, lambda o: _end(o, failure, reason or failure.code, self.clock)
        )
        if order.status not in (S.PAYMENT_FAILED, S.CANCELLED):
            return order  # placed: nothing of it is undone
        await self.undo(order)
        if order.failure is not None and order.failure.code != failure.code:
            raise order.failure.error() from error
        raise error

    async def undo(self, order: Order) -> Order:
        """Hand back what an ended order holds: the stock and the cart first (the shop's own
        books), then the authorization (the gateway may be down: recovery tries again)."""
        with contextlib.suppress(NotFound):  # died before it reserved: nothing to give back
            await self.stock.release(order.reservation_id)
        await self.carts.abandon(order.cart_id, order.id)
        if await self._payment(order) is PaymentStanding.HELD:
            await self.payments.void(order.id, void_key(order.id))
        return await self.change(order.id, lambda o: _settle_unless_running(o, self.clock))

    # -- recovery --------------------------------------------------------------------------

    async def resume(self, order: Order) -> Order:
        """Drive an unsettled order to the end its status and its payment call for. The
        recovery job answers nobody: a checkout it ends keeps its error in the order, and a
        step that fails again (the gateway still down) leaves the order for its next pass."""
        try:
            return await self._resume(order)
        except ShopError as error:
            logger.info("order %s: %s", order.id, error.detail)
        return await self.get(order.id)

    async def _resume(self, order: Order) -> Order:
        if order.settled:
            return order
        if order.status is S.PENDING_PAYMENT:
            standing = await self._payment(order)
            if standing is PaymentStanding.HELD:
                return await self.complete_checkout(order)
            return await self.fail(order.id, _why_not_paid(standing))
        if order.status in (S.PAYMENT_FAILED, S.CANCELLED):
            return await self.undo(order)
        if order.status is S.CONFIRMED and order.shipping_started_at is not None:
            return await self.ship(order)
        if order.status is S.CONFIRMED:
            await self.check_out_cart(order)
            return await self.change(order.id, _settle)
        return await self.finish_refunds(order)

    async def _payment(self, order: Order) -> PaymentStanding:
        return await self.payments.standing(
            payment_id=order.id,
            order_id=order.id,
            amount=order.total,
            idempotency_key=authorize_key(order.id),
        )

    # -- shipping and refunds --------------------------------------------------------------

    async def ship(self, order: Order) -> Order:
        """Check the cart out, capture, take the stock off the shelf, mark the order shipped
        (and settled). A checkout that died after confirming left its cart held for the
        recovery job, which never comes back to an order settled by its shipment: so the
        shipment finishes that step first (a no-op once the cart is checked out)."""
        await self.check_out_cart(order)
        try:
            await self.payments.capture(order.id, capture_key(order.id))
        except ShopError:
            await self.change(order.id, _stop_shipping)
            raise
        await self.stock.ship(order.reservation_id)
        return await self.change(order.id, lambda o: _shipped(o, self.clock))

    async def finish_refunds(self, order: Order) -> Order:
        """Every refund booked but not completed goes to the gateway (under its own key, so
        one the gateway made already is not made twice), then the order settles."""
        for entry in [refund for refund in order.refunds if not refund.completed]:
            try:
                await self.payments.refund(order.id, entry.amount, entry.key)
            except ShopError:
                logger.exception("refund %s of order %s was refused", entry.key, order.id)
                order = await self.change(order.id, _abandon_refund(entry.key))
                continue
            order = await self.change(order.id, _complete_refund(entry.key, self.clock))
        return await self.change(order.id, _settle)


def _why_not_paid(standing: PaymentStanding) -> ShopError:
    """The answer of a checkout recovery ends: what the gateway said, when it said it."""
    if standing is PaymentStanding.DECLINED:
        return PaymentDeclined("the payment was declined")
    if standing is PaymentStanding.FAILED:
        return PaymentGatewayUnavailable("the payment gateway did not answer; try again")
    return CheckoutInterrupted(
        "the checkout was interrupted before its payment went through; nothing is held, so "
        "it may be tried again"
    )


# -- the state changes, each safe to apply twice ---------------------------------------------


def _confirm(order: Order, clock: Clock) -> None:
    if order.status is not S.CONFIRMED:
        order.confirm(order.id, clock.now())


def _settle(order: Order) -> None:
    order.settle()


def _end(order: Order, failure: Failure, reason: str, clock: Clock) -> None:
    if order.status is not S.PENDING_PAYMENT:
        return  # ended already, by someone else or by an attempt whose answer was lost
    if isinstance(failure.error(), PAYMENT_ERRORS):
        order.payment_failed(failure, clock.now(), order.id)
    else:
        order.cancel(reason, clock.now(), failure)


def _settle_unless_running(order: Order, clock: Clock) -> None:
    """An order cancelled while its checkout still runs stays unsettled until that checkout's
    deadline: the checkout may yet be given an authorization, which recovery then voids."""
    if order.settle_by is not None and order.settle_by > clock.now() and _checkout_may_run(order):
        return
    order.settle()


def _checkout_may_run(order: Order) -> bool:
    """Whether this order was ended while its own checkout was still under way (the end came
    from someone else: the customer or staff cancelling a pending order)."""
    return order.failure is None and any(
        change.from_status is S.PENDING_PAYMENT and change.to_status is S.CANCELLED
        for change in order.history
    )


def _stop_shipping(order: Order) -> None:
    order.stop_shipping()
    order.settle()


def _shipped(order: Order, clock: Clock) -> None:
    if order.status is S.CONFIRMED:
        order.ship(clock.now())
    order.settle()


def _abandon_refund(key: str) -> Callable[[Order], None]:
    return lambda order: order.abandon_refund(key)


def _complete_refund(key: str, clock: Clock) -> Callable[[Order], None]:
    return lambda order: order.complete_refund(key, clock.now())
