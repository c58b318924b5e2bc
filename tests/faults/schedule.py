"""The fault schedule: which faults, against which process, at which moment, all drawn from
the run's seed, so a failing run is replayed with the same plan by giving its seed again.

The operator's list is OPERATOR (Postgres's connections terminated twice); the short test
injects each kind once (KINDS). A long run repeats the list once a minute. The moments are
drawn between 10 % and 75 % of the load, so the customers shop before the first fault and
after the last; the faults run one at a time, so a fault whose moment comes while the one
before it is still in progress (a process restarting) waits for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KILL_WORKER = "kill-worker"  # SIGKILL one worker, start it again
KILL_API = "kill-api"  # SIGKILL one API process, start it again on its port
TERMINATE_POSTGRES = "terminate-postgres"  # pg_terminate_backend on every connection of the db
RESTART_REDIS = "restart-redis"  # SIGKILL Redis, start it again empty
PAUSE_WORKER = "pause-worker"  # SIGSTOP one worker, SIGCONT it `hold` seconds later

KINDS = (KILL_WORKER, KILL_API, TERMINATE_POSTGRES, RESTART_REDIS, PAUSE_WORKER)
OPERATOR = (*KINDS, TERMINATE_POSTGRES)


@dataclass(frozen=True)
class Planned:
    at: float  # seconds into the load
    kind: str
    target: int  # which API or worker (0 or 1); unused by the others
    hold: float  # seconds Redis stays down, or a worker stopped

    def describe(self) -> str:
        on = f" #{self.target + 1}" if self.kind in (KILL_WORKER, KILL_API, PAUSE_WORKER) else ""
        held = f" for {self.hold:.1f} s" if self.hold else ""
        return f"{self.kind}{on}{held} at {self.at:.1f} s"


def plan(
    rng: random.Random, seconds: float, kinds: tuple[str, ...], pause_seconds: float
) -> list[Planned]:
    """`kinds` once per started minute of `seconds` (at least once), at random moments."""
    rounds = max(1, int(seconds // 60))
    chosen = [kind for _ in range(rounds) for kind in kinds]
    moments = sorted(rng.uniform(0.1 * seconds, 0.75 * seconds) for _ in chosen)
    rng.shuffle(chosen)
    return [
        Planned(at, kind, rng.randrange(2), _hold(rng, kind, pause_seconds))
        for at, kind in zip(moments, chosen, strict=True)
    ]


def _hold(rng: random.Random, kind: str, pause_seconds: float) -> float:
    if kind == PAUSE_WORKER:
        return pause_seconds
    if kind == RESTART_REDIS:
        return round(rng.uniform(0.2, 1.5), 1)  # an outage the API rides out on its own
    return 0.0
