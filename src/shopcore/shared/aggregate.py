"""Base for aggregates: a consistency boundary that records events and carries a version."""

from __future__ import annotations

from dataclasses import dataclass, field

from shopcore.shared.messages import Event


@dataclass(kw_only=True)
class Aggregate:
    # Optimistic concurrency: a repository saves only if the stored version is unchanged.
    version: int = 0
    events: list[Event] = field(default_factory=list, compare=False, repr=False)

    def record(self, event: Event) -> None:
        self.events.append(event)
