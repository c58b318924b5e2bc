"""The run's report, as the soak prints it and as a failing test shows it: the plan, the
answers by status (and by route where not a success), the faults as they ran, the orders by
status, every invariant's result, and where the logs are."""

from __future__ import annotations

import re
from collections import Counter

from tests.faults.logs import server_errors
from tests.faults.run import Outcome

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def report(outcome: Outcome) -> str:
    options, answers = outcome.options, outcome.answers.items
    timings = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in outcome.timings.items())
    lines = [
        f"fault run: seed {options.seed}, {options.shoppers} shoppers, {options.seconds:.0f} s "
        f"of load, {len(outcome.planned)} faults planned",
        f"  timings: {timings}",
        f"answers: {len(answers)}",
        *_table(Counter(answer.label for answer in answers)),
        "answers other than 2xx, by route:",
        *_table(
            Counter(
                f"{answer.route}  {answer.label}"
                for answer in answers
                if answer.status is None or answer.status >= 300
            )
        ),
        "faults:",
        *(f"  {fault.describe()}" for fault in outcome.faults),
    ]
    if outcome.snapshot is not None:
        statuses = Counter(str(order.status) for order in outcome.snapshot.orders.values())
        lines += ["orders:", *_table(statuses)]
    errors = Counter(_ID.sub("{id}", error) for error in server_errors(outcome.directory))
    if errors:
        lines += ["500s the API processes logged:", *_table(errors)]
    lines += ["invariants:", *(f"  {check.describe()}" for check in outcome.checks)]
    lines.append(f"logs and mail: {outcome.directory}")
    return "\n".join(lines)


def _table(counts: Counter[str]) -> list[str]:
    width = max((len(label) for label in counts), default=0)
    return [f"  {label:<{width}}  {count:>6}" for label, count in sorted(counts.items())]
