"""Payment use cases: each calls the gateway, then records what it answered."""

from __future__ import annotations

from shopcore.application.bus import CommandTable
from shopcore.payments.commands import (
    AuthorizePayment,
    CapturePayment,
    ReconcilePayment,
    RecordPayment,
    RefundPayment,
    VoidPayment,
)
from shopcore.payments.model import (
    Payment,
    PaymentStatus,
    Transaction,
    TransactionKind,
    check_amount,
)
from shopcore.payments.ports import GatewayResponse, PaymentGateway, PaymentsUnitOfWork
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AlreadyExists,
    IllegalTransition,
    NotFound,
    PaymentDeclined,
    PaymentGatewayUnavailable,
)
from shopcore.shared.money import Money


async def authorize_payment(
    command: AuthorizePayment, uow: PaymentsUnitOfWork, clock: Clock, gateway: PaymentGateway
) -> Payment:
    check_amount(command.amount)  # before the gateway, or it holds an authorization we never record
    if command.record_approval:
        async with uow:
            existing = await uow.payments.get(command.payment_id)
        if existing is not None:
            return _replayed(existing)
    # else no read first: the gateway answers a repeated key as it did the first time, and
    # the record keeps whichever copy reached the books first.
    outage: PaymentGatewayUnavailable | None = None
    try:
        response = await gateway.authorize(command.amount, command.token, command.idempotency_key)
    except PaymentGatewayUnavailable as error:
        # Refused or cut off: a call cut off tells nothing of its outcome, and the gateway may
        # hold the money all the same. What it answered under the key, when it can say, is
        # the outcome; only without that is this a failure (and nothing held to void).
        known = await _answer_under(gateway, command.idempotency_key)
        if known is None:
            outage = error
            response = GatewayResponse(approved=False, reference=None, message=error.detail)
        else:
            response = known
    tx = _transaction(TransactionKind.AUTHORIZE, command.amount, response, command, clock)
    if response.approved:
        payment = Payment.authorized(
            id=command.payment_id, order_id=command.order_id, amount=command.amount, transaction=tx
        )
    else:
        payment = Payment.declined(
            id=command.payment_id,
            order_id=command.order_id,
            amount=command.amount,
            transaction=tx,
            failed=outage is not None,
        )
    if payment.status is PaymentStatus.AUTHORIZED and not command.record_approval:
        return payment
    payment = await _record(uow, payment)
    if outage is not None and payment.status is PaymentStatus.FAILED:
        raise outage
    return _replayed(payment)


async def _answer_under(gateway: PaymentGateway, idempotency_key: str) -> GatewayResponse | None:
    try:
        return await gateway.lookup(idempotency_key)
    except PaymentGatewayUnavailable:
        return None


async def record_payment(command: RecordPayment, uow: PaymentsUnitOfWork) -> Payment:
    return await _record(uow, command.payment)


async def reconcile_payment(
    command: ReconcilePayment, uow: PaymentsUnitOfWork, clock: Clock, gateway: PaymentGateway
) -> Payment | None:
    async with uow:
        existing = await uow.payments.get(command.payment_id)
    if existing is not None:
        return existing
    response = await gateway.lookup(command.idempotency_key)
    if response is None:
        return None
    tx = _transaction(TransactionKind.AUTHORIZE, command.amount, response, command, clock)
    if response.approved:
        payment = Payment.authorized(
            id=command.payment_id, order_id=command.order_id, amount=command.amount, transaction=tx
        )
    else:
        payment = Payment.declined(
            id=command.payment_id,
            order_id=command.order_id,
            amount=command.amount,
            transaction=tx,
            failed=False,
        )
    return await _record(uow, payment)


async def _record(uow: PaymentsUnitOfWork, payment: Payment) -> Payment:
    """Write a new payment; when another process wrote it first (the same authorization,
    recorded by a retry or the recovery job at the same moment), theirs is the one kept."""
    try:
        async with uow:
            await uow.payments.add(payment)
            await uow.commit()
    except AlreadyExists:
        return await _get(uow, payment.id)
    return payment


def _replayed(payment: Payment) -> Payment:
    if payment.status is PaymentStatus.DECLINED:
        raise PaymentDeclined("the payment was declined")
    if payment.status is PaymentStatus.FAILED:
        raise PaymentGatewayUnavailable("the payment gateway did not answer")
    return payment


async def capture_payment(
    command: CapturePayment, uow: PaymentsUnitOfWork, clock: Clock, gateway: PaymentGateway
) -> Payment:
    payment = await _get(uow, command.payment_id)
    if payment.status is not PaymentStatus.AUTHORIZED:
        if payment.captured == payment.amount:
            return payment  # captured before: a retry
        raise IllegalTransition(f"payment {payment.id} is {payment.status}, not authorized")
    response = await gateway.capture(_reference(payment), payment.amount, command.idempotency_key)
    return await _apply(
        uow, payment.id, TransactionKind.CAPTURE, payment.amount, response, command, clock
    )


async def void_payment(
    command: VoidPayment, uow: PaymentsUnitOfWork, clock: Clock, gateway: PaymentGateway
) -> Payment:
    payment = await _get(uow, command.payment_id)
    if payment.status in {PaymentStatus.VOIDED, PaymentStatus.DECLINED, PaymentStatus.FAILED}:
        return payment  # nothing is held: voiding again changes nothing
    if payment.status is not PaymentStatus.AUTHORIZED:
        raise IllegalTransition(f"payment {payment.id} is {payment.status} and cannot be voided")
    response = await gateway.void(_reference(payment), command.idempotency_key)
    return await _apply(
        uow, payment.id, TransactionKind.VOID, payment.amount, response, command, clock
    )


async def refund_payment(
    command: RefundPayment, uow: PaymentsUnitOfWork, clock: Clock, gateway: PaymentGateway
) -> Payment:
    payment = await _get(uow, command.payment_id)
    if _already_done(payment, command.idempotency_key):
        return payment  # this refund already went through
    payment.check_refund(command.amount)
    response = await gateway.refund(_reference(payment), command.amount, command.idempotency_key)
    return await _apply(
        uow, payment.id, TransactionKind.REFUND, command.amount, response, command, clock
    )


async def _apply(
    uow: PaymentsUnitOfWork,
    payment_id: str,
    kind: TransactionKind,
    amount: Money,
    response: GatewayResponse,
    command: CapturePayment | VoidPayment | RefundPayment,
    clock: Clock,
) -> Payment:
    tx = _transaction(kind, amount, response, command, clock)
    async with uow:
        payment = await _get_in(uow, payment_id)
        if _already_done(payment, command.idempotency_key):
            return payment  # a concurrent retry with the same key got here first
        if not response.approved:
            payment.log(tx)
            await uow.commit()
            raise PaymentDeclined(f"the gateway refused to {kind}: {response.message}")
        if kind is TransactionKind.CAPTURE:
            payment.capture(tx)
        elif kind is TransactionKind.VOID:
            payment.void(tx)
        else:
            payment.refund(tx)
        await uow.commit()
    return payment


def _already_done(payment: Payment, idempotency_key: str) -> bool:
    return any(
        tx.succeeded and tx.idempotency_key == idempotency_key for tx in payment.transactions
    )


def _transaction(
    kind: TransactionKind,
    amount: Money,
    response: GatewayResponse,
    command: AuthorizePayment | ReconcilePayment | CapturePayment | VoidPayment | RefundPayment,
    clock: Clock,
) -> Transaction:
    return Transaction(
        kind=kind,
        amount=amount,
        succeeded=response.approved,
        reference=response.reference,
        idempotency_key=command.idempotency_key,
        message=response.message[:200],
        at=clock.now(),
    )


def _reference(payment: Payment) -> str:
    if payment.gateway_reference is None:  # pragma: no cover - authorized payments have one
        raise IllegalTransition(f"payment {payment.id} has no gateway reference")
    return payment.gateway_reference


async def _get(uow: PaymentsUnitOfWork, payment_id: str) -> Payment:
    async with uow:
        return await _get_in(uow, payment_id)


async def _get_in(uow: PaymentsUnitOfWork, payment_id: str) -> Payment:
    payment = await uow.payments.get(payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id} not found")
    return payment


COMMAND_HANDLERS: CommandTable = {
    AuthorizePayment: authorize_payment,
    CapturePayment: capture_payment,
    VoidPayment: void_payment,
    RefundPayment: refund_payment,
    ReconcilePayment: reconcile_payment,
    RecordPayment: record_payment,
}
