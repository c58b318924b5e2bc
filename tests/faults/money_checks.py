"""Invariants of the money, once the shop has settled: the simulated gateway's books (its
charges, each tied to an order by the key "<order id>:authorize") against the shop's.

- the gateway holds an open authorization (neither captured nor voided) for exactly the
  confirmed orders, one each, for the order's total; every other order's charge is voided
  or captured;
- a shipped (or refunded) order's charge was captured for its total, and what the gateway
  refunded is what the order and its payment say was refunded: captured - refunded agrees
  per order, and so does its sum over the shop;
- the shop's payment record agrees with the gateway (status, reference, captured, refunded).
"""

from __future__ import annotations

from collections import defaultdict

from shopcore.ordering.model import CAPTURED_STATES, OrderStatus
from shopcore.payments.model import PaymentStatus
from tests.faults.snapshot import Charge, Snapshot

S = OrderStatus
HELD = {PaymentStatus.AUTHORIZED}
TAKEN = {PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}


def authorizations_match_orders(snapshot: Snapshot) -> list[str]:
    problems = []
    charges: dict[str, list[Charge]] = defaultdict(list)
    for reference, charge in sorted(snapshot.charges.items()):
        if charge.order_id is None or charge.order_id not in snapshot.orders:
            problems.append(f"charge {reference} ({charge}) belongs to no order")
        else:
            charges[charge.order_id].append(charge)
    confirmed = set(snapshot.having(S.CONFIRMED))
    held = {order_id for order_id, found in charges.items() if any(c.open for c in found)}
    problems += [
        f"open authorization for order {id} ({snapshot.orders[id].status})"
        for id in sorted(held - confirmed)
    ]
    problems += [
        f"confirmed order {id} has no open authorization" for id in sorted(confirmed - held)
    ]
    for order_id, found in sorted(charges.items()):
        order = snapshot.orders[order_id]
        paid = order.status is S.CONFIRMED or order.status in CAPTURED_STATES
        if paid and (len(found) != 1 or found[0].amount != order.total.amount):
            problems.append(f"order {order_id} ({order.status}): charges {found}")
    return problems


def money_conserved(snapshot: Snapshot) -> list[str]:
    problems = []
    by_order = {c.order_id: c for c in snapshot.charges.values() if c.order_id is not None}
    kept_by_gateway = kept_by_shop = 0
    for order_id, order in sorted(snapshot.having(*CAPTURED_STATES).items()):
        charge = by_order.get(order_id)
        if charge is None:
            problems.append(f"order {order_id} ({order.status}) has no charge")
            continue
        if charge.captured != order.total.amount:
            problems.append(f"order {order_id}: {charge.captured} captured of {order.total}")
        if charge.refunded != order.refunded.amount:
            problems.append(
                f"order {order_id}: the gateway refunded {charge.refunded}, the order says "
                f"{order.refunded.amount}"
            )
        kept_by_gateway += charge.captured - charge.refunded
        kept_by_shop += order.total.amount - order.refunded.amount
    if kept_by_gateway != kept_by_shop:
        problems.append(f"the gateway kept {kept_by_gateway}, the shop's orders {kept_by_shop}")
    return problems


def payments_agree(snapshot: Snapshot) -> list[str]:
    """The shop's payment record against the gateway, for the orders that were paid."""
    problems = []
    for order_id, order in sorted(snapshot.orders.items()):
        expected = HELD if order.status is S.CONFIRMED else TAKEN
        if order.status is not S.CONFIRMED and order.status not in CAPTURED_STATES:
            continue
        payments = snapshot.payments.get(order_id, [])
        if len(payments) != 1 or payments[0].status not in expected:
            problems.append(f"order {order_id} ({order.status}): payments {payments}")
            continue
        (payment,) = payments
        charge = snapshot.charges.get(payment.gateway_reference or "")
        if charge is None or charge.order_id != order_id:
            problems.append(f"order {order_id}: payment names charge {payment.gateway_reference}")
        elif (payment.captured.amount, payment.refunded.amount) != (
            charge.captured,
            charge.refunded,
        ):
            problems.append(
                f"order {order_id}: payment {payment.captured}/{payment.refunded} captured/"
                f"refunded, gateway {charge.captured}/{charge.refunded}"
            )
    return problems
