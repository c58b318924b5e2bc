"""Ordering: checkout (stock before money), the order state machine, totals, fulfilment."""
