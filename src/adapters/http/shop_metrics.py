"""What the shop does, for Prometheus beside the request metrics (controllers/metrics.py):
checkouts by outcome and stock reservations refused, counted by the process that ran them;
and how far events are behind (the relay, each consumer group), read by the composition
root's refreshers just before each scrape, so every API process reports the same backlog."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from shopcore.shared.errors import OutOfStock, ShopError

CHECKOUTS = Counter(
    "shopcore_checkouts",
    "Checkouts this process ran (not replays of an Idempotency-Key), by outcome: `placed`, "
    "or the problem code the checkout ended with (`out-of-stock`, `payment-declined`, ...)",
    ["outcome"],
)
RESERVATION_FAILURES = Counter(
    "shopcore_stock_reservation_failures",
    "Checkouts whose stock reservation was refused: a SKU had fewer units available than asked",
)
OUTBOX_UNPUBLISHED = Gauge(
    "shopcore_outbox_unpublished_events",
    "Events committed but not yet published to the event stream: the relay's lag",
)
DEAD_LETTERS = Gauge(
    "shopcore_dead_letters",
    "Events a consumer group gave up on, kept for `shopcore dead-letters replay`",
)
ORDERS_OVERDUE = Gauge(
    "shopcore_orders_overdue",
    "Orders whose checkout, cancellation, shipment or refund is past its deadline: the "
    "recovery job has yet to finish them",
)
GROUP_LAG = Gauge(
    "shopcore_events_group_lag",
    "Events in the stream not yet delivered to the consumer group",
    ["group"],
)
GROUP_PENDING = Gauge(
    "shopcore_events_group_pending",
    "Events delivered to the consumer group and not yet acknowledged (in flight or stuck)",
    ["group"],
)


def checkout_placed() -> None:
    CHECKOUTS.labels("placed").inc()


def checkout_failed(error: ShopError) -> None:
    CHECKOUTS.labels(error.code).inc()
    if isinstance(error, OutOfStock):
        RESERVATION_FAILURES.inc()
