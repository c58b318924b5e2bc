"""How many live stock streams an API process holds open, and how many one client may.

An open stream holds a connection, a file descriptor and a subscription for as long as the
client keeps it, and nothing else bounded them: one address held every stream a process could
serve, and could run it out of file descriptors. A stream now takes a slot for its life: a
client past its share is refused with 429, a process with none left with 503 (both with
`Retry-After`), and a stream ends after `max_seconds` (its client reconnects with
`Last-Event-ID` and loses nothing), so a slot is never held for ever.

Per process: each API process counts its own streams (what its file descriptors bound), and a
client's share is counted per process too, so behind a balancer a client may hold up to its
share on each instance.
"""

from __future__ import annotations

import weakref
from collections import Counter

from litestar.exceptions import TooManyRequestsException

from shopcore.shared.errors import Busy


class StreamSlots:
    def __init__(self, *, per_client: int, per_process: int) -> None:
        self.per_client = per_client
        self.per_process = per_process
        self._by_client: Counter[str] = Counter()
        self._open = 0

    @property
    def open(self) -> int:
        return self._open

    def take(self, client: str) -> Slot:
        """A slot for `client`'s new stream; 429 past its share, 503 when the process is full."""
        if self._by_client[client] >= self.per_client:
            raise TooManyRequestsException(
                detail=f"at most {self.per_client} live stock streams per client",
                headers={"Retry-After": "10"},
            )
        if self._open >= self.per_process:
            raise Busy("this server holds as many live stock streams as it can; retry shortly")
        self._by_client[client] += 1
        self._open += 1
        return Slot(self, client)

    def _give_back(self, client: str) -> None:
        self._open -= 1
        self._by_client[client] -= 1
        if self._by_client[client] <= 0:
            del self._by_client[client]


class Slot:
    """One stream's slot, given back once: when its stream ends, or, for a stream whose body
    never started (the client left first), when the stream is collected (`bind`)."""

    def __init__(self, slots: StreamSlots, client: str) -> None:
        self._slots = slots
        self._client = client
        self._held = True

    def bind(self, owner: object) -> None:
        weakref.finalize(owner, self.release)

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._client)
