"""State machines in Mermaid, drawn from the transition tables in the core.

Initial states are those no other state leads to; final states are those that lead nowhere.
Both follow from the table, so the diagram cannot disagree with the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.docs import markdown as md
from apps.docs.services import Machine


def _name(state: Any) -> str:
    return str(getattr(state, "value", state))


def _ordered(table: Mapping[Any, frozenset[Any]]) -> list[Any]:
    """States in their enum's declaration order (a set's order is not stable)."""
    states = set(table) | {target for targets in table.values() for target in targets}
    enum: Any = type(next(iter(states)))
    members: list[Any] = list(enum)  # declaration order
    order = {state: index for index, state in enumerate(members)}
    return sorted(states, key=lambda state: (order.get(state, len(order)), _name(state)))


def initial_states(table: Mapping[Any, frozenset[Any]]) -> list[Any]:
    reached = {
        target for source, targets in table.items() for target in targets if target != source
    }
    return [state for state in _ordered(table) if state not in reached]


def final_states(table: Mapping[Any, frozenset[Any]]) -> list[Any]:
    return [state for state in _ordered(table) if not table.get(state)]


def diagram(machine: Machine) -> str:
    table = machine.table
    lines = ["stateDiagram-v2"]
    lines.extend(f"    [*] --> {_name(state)}" for state in initial_states(table))
    order = _ordered(table)
    lines.extend(
        f"    {_name(source)} --> {_name(target)}"
        for source in order
        for target in order
        if target in table.get(source, frozenset())
    )
    lines.extend(f"    {_name(state)} --> [*]" for state in final_states(table))
    return md.fenced("mermaid", "\n".join(lines))


def transitions_table(machine: Machine) -> str:
    table = machine.table
    order = _ordered(table)
    rows = [
        (
            md.code(_name(source)),
            ", ".join(md.code(_name(target)) for target in order if target in table.get(source, ()))
            or "— (final)",
        )
        for source in order
    ]
    return md.table(("From", "May move to"), rows)


def section(machine: Machine) -> str:
    return "\n\n".join(
        [
            f"Drawn from {md.code(machine.source)}.",
            diagram(machine),
            transitions_table(machine),
        ]
    )
