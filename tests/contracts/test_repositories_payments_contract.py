"""What every payment repository must do: store a payment whole with its transaction log, a
declined one too, and list every payment of one order."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from shopcore.payments.model import Payment, PaymentStatus, Transaction, TransactionKind
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur, read, write


# -- payments ------------------------------------------------------------------------------
async def test_a_payment_reads_back_with_its_transaction_log(
    backend: Backend, clock: ManualClock
) -> None:
    payment = b.payment(amount=5000)
    reference = payment.gateway_reference
    assert reference is not None
    payment.capture(
        b.transaction(
            TransactionKind.CAPTURE,
            eur(5000),
            at=clock.advance(hours=1),
            key="k-capture",
            reference=reference,
        )
    )
    payment.refund(
        b.transaction(
            TransactionKind.REFUND,
            eur(1234),
            at=clock.advance(days=3),
            key="k-refund",
            reference=reference,
        )
    )
    await write(backend, lambda uow: uow.payments.add(payment))

    stored = await read(backend, lambda uow: uow.payments.get(payment.id))

    assert stored == payment
    assert stored is not None
    assert stored.status is PaymentStatus.PARTIALLY_REFUNDED
    assert [tx.kind for tx in stored.transactions] == [
        TransactionKind.AUTHORIZE,
        TransactionKind.CAPTURE,
        TransactionKind.REFUND,
    ]
    assert stored.refundable == eur(5000 - 1234)
    assert stored.events == []


async def test_a_declined_payment_reads_back_without_a_reference(
    backend: Backend, clock: ManualClock
) -> None:
    declined = Payment.declined(
        id=new_id(),
        order_id=new_id(),
        amount=eur(700),
        transaction=Transaction(
            kind=TransactionKind.AUTHORIZE,
            amount=eur(700),
            succeeded=False,
            reference=None,
            idempotency_key="k",
            message="card declined",
            at=clock.now(),
        ),
        failed=False,
    )
    await write(backend, lambda uow: uow.payments.add(declined))

    stored = await read(backend, lambda uow: uow.payments.get(declined.id))

    assert stored == declined
    assert stored is not None
    assert stored.gateway_reference is None
    assert stored.status is PaymentStatus.DECLINED


async def test_for_order_lists_every_payment_of_that_order_only(backend: Backend) -> None:
    order_id = new_id()
    first, retry = b.payment(order_id=order_id), b.payment(order_id=order_id, amount=10)
    other = b.payment()
    await add_all(backend, first, other, retry)

    found = await read(backend, lambda uow: uow.payments.for_order(order_id))

    assert sorted(found, key=lambda p: p.id) == sorted([first, retry], key=lambda p: p.id)
    assert len(found) == 2
    assert await read(backend, lambda uow: uow.payments.for_order(new_id())) == []
    assert await read(backend, lambda uow: uow.payments.get(new_id())) is None
