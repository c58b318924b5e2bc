"""How long a loop that keeps failing waits before its next try."""

from __future__ import annotations

# 2**30 times the first wait is past any cap in use; a larger exponent would only risk
# OverflowError (float times a huge int) in a loop that has failed for hours.
_MOST_DOUBLINGS = 30


def backoff(failures: int, first: float, most: float) -> float:
    """`first` doubled per failure after the first, never more than `most`, however many
    failures there were (a database or Redis down for an hour is an outage to outlast,
    not a reason for the loop to die)."""
    doublings: int = min(max(failures, 0), _MOST_DOUBLINGS)
    return min(most, first * float(2**doublings))
