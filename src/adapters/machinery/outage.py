"""An outage of a service that its callers can do without for a while (Redis, for the rate
limits and the catalog cache): noticed once, logged once, probed once a second.

While the service answers, every caller uses it. The first failure opens the outage and logs a
warning; from then on callers take their fallback at once instead of each paying for a failed
connection (a refused one costs little, one to a host that went silent costs the client's whole
timeout), except for one caller every `retry_after` seconds, who tries the service again. The
first success closes the outage and logs how long it lasted. A thousand requests a second
during a minute's outage thus write two log lines, not sixty thousand.

This is loop-level bookkeeping, not a rule of the shop; it knows no client library, so each
adapter decides what counts as a failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Outage:
    def __init__(
        self,
        service: str,
        logger: logging.Logger,
        *,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._logger = logger
        self._retry_after = retry_after
        self._clock = clock
        self._since: float | None = None  # when the outage began; None while it answers
        self._next_try = 0.0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def should_try(self) -> bool:
        """Whether this caller should use the service: always while it answers; during an
        outage, one caller every `retry_after` seconds (the probe)."""
        if self._since is None:
            return True
        now = self._clock()
        if now < self._next_try:
            return False
        self._next_try = now + self._retry_after
        return True

    def failed(self, error: BaseException) -> None:
        now = self._clock()
        self._next_try = now + self._retry_after
        if self._since is None:
            self._since = now
            self._logger.warning(
                "%s unreachable, falling back until it answers: %r", self._service, error
            )

    def succeeded(self) -> bool:
        """Record an answer; True when it ends an outage."""
        if self._since is None:
            return False
        lasted, self._since = self._clock() - self._since, None
        self._logger.info("%s answers again after %.1f s", self._service, lasted)
        return True
