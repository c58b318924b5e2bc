"""One fault run, start to end: seed the shop, deploy it, let the customers and the staff
member work while the faults are injected one at a time, stop the load, wait until the shop
has settled, check every invariant; the deployment is stopped whatever happens.

The seed fixes everything the run chooses (the fault plan, each actor's cards, SKUs,
instances and pauses); the machine's timing does not repeat, so a seed replays the plan, not
the interleaving. The load lasts `seconds`, or until the last fault is over and a second
more has passed, whichever is later: every planned fault meets customers at work.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from adapters.db.engine import create_engine
from tests.faults import mail
from tests.faults.answers import Answers, Client
from tests.faults.cast import Cast, seed
from tests.faults.deployment import Deployment
from tests.faults.injection import Injected, run_schedule
from tests.faults.invariants import Check, Evidence, check_all, settled
from tests.faults.schedule import OPERATOR, Planned, plan
from tests.faults.shoppers import Shopper
from tests.faults.snapshot import Snapshot
from tests.faults.staff import Staff
from tests.support.redis_server import private_redis

TAIL = 1.0  # seconds of load after the last fault


@dataclass(frozen=True)
class Options:
    seed: int
    seconds: float = 60.0
    shoppers: int = 40
    pause_seconds: float = 10.0  # how long a worker stays SIGSTOPped
    kinds: tuple[str, ...] = OPERATOR


@dataclass
class Outcome:
    options: Options
    directory: Path
    planned: list[Planned]
    answers: Answers = field(default_factory=Answers)
    faults: list[Injected] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    snapshot: Snapshot | None = None
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


async def run(options: Options, database_url: str, directory: Path) -> Outcome:
    outcome = Outcome(
        options,
        directory,
        plan(random.Random(options.seed), options.seconds, options.kinds, options.pause_seconds),
    )
    began = time.monotonic()
    cast = await seed(database_url, options.shoppers)
    async with private_redis(directory) as redis:
        deployment = Deployment.plan(directory, database_url, redis)
        try:
            await deployment.start()
            outcome.timings["start"] = time.monotonic() - began
            await _load_and_check(outcome, deployment, cast)
        except Exception:
            print(f"the fault run stopped; the processes' logs end so:\n{deployment.logs()}")
            raise
        finally:
            await deployment.stop()
    outcome.timings["total"] = time.monotonic() - began
    return outcome


async def _load_and_check(outcome: Outcome, deployment: Deployment, cast: Cast) -> None:
    options = outcome.options
    answers = outcome.answers = Answers()
    # Idle connections are dropped after 1 s, before the server's keep-alive timeout (5 s)
    # can close one under a request being sent: that race is the client's to avoid.
    limits = httpx.Limits(max_connections=4 * options.shoppers + 20, keepalive_expiry=1.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        actors = random.Random(options.seed + 1)  # each actor's own stream, from the seed

        def client(actor: str, token: str) -> Client:
            rng = random.Random(actors.getrandbits(64))
            return Client(http, deployment.bases, answers, actor, token, rng)

        shoppers = [
            Shopper(customer_id, client(f"shopper-{n}", token))
            for n, (customer_id, token) in enumerate(cast.customers)
        ]
        staff = Staff(client("staff", cast.staff_token))
        stop = asyncio.Event()
        load = [asyncio.create_task(s.shop(stop)) for s in shoppers]
        load.append(asyncio.create_task(staff.fulfil(stop)))
        outcome.faults = await _faults_during(outcome, deployment, answers)
        stop.set()
        await asyncio.gather(*load)
        outcome.timings["load"] = answers.now()

        engine = create_engine(deployment.database_url, pool_size=2)
        try:
            outcome.timings["settle"] = await settled(engine)
            checking = time.monotonic()
            evidence = Evidence(
                answers=answers.items,
                faults=outcome.faults,
                attempts=[a for shopper in shoppers for a in shopper.attempts],
                tokens=dict(cast.customers),
                received=cast.received,
                emails=mail.sent(deployment.mail_files, answers.began),
            )
            outcome.snapshot, outcome.checks = await check_all(
                engine, http, deployment.bases[0], evidence
            )
            outcome.timings["check"] = time.monotonic() - checking
        finally:
            answers.save(outcome.directory / "answers.jsonl")
            await engine.dispose()


async def _faults_during(
    outcome: Outcome, deployment: Deployment, answers: Answers
) -> list[Injected]:
    """Inject the plan while the load runs; returns when the load should stop."""
    schedule = asyncio.create_task(run_schedule(deployment, outcome.planned, answers.now, 0.0))
    await asyncio.sleep(outcome.options.seconds)
    faults = await schedule
    if faults:
        await asyncio.sleep(max(0.0, faults[-1].ended + TAIL - answers.now()))
    return faults
