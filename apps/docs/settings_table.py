"""The settings table: every `Settings` field, the variable it is read from, its type, the
value it has when that variable is unset, the rules a value must keep and what it means.

All of it comes from the declarations on the `Settings` Struct, through the same `Variable`s
that `Settings.from_env` reads by (apps/environment.py), so the table cannot name a variable
the code does not read or a rule it does not check. **When unset** is what
`Settings.from_env({})` gives, which for the database is not the field's own default.
"""

from __future__ import annotations

from apps.docs import markdown as md
from apps.environment import Variable
from apps.settings import Settings


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return ", ".join(md.code(str(item)) for item in value) or "none"
    return md.code(str(value))


def _constraint(variable: Variable) -> str:
    """The rules, and how the text says what a value cannot."""
    parts = list(variable.rules)
    if variable.listed:
        parts.append("comma-separated")
    if variable.none is not None:
        parts.append(f"{md.code(variable.none)} means None")
    return md.cell("; ".join(parts))


def table() -> str:
    unset = Settings.from_env({})
    rows = [
        (
            md.code(variable.name),
            md.code(variable.field),
            md.code(md.type_name(variable.type)),
            _shown(getattr(unset, variable.field)),
            _constraint(variable),
            md.cell(variable.description),
        )
        for variable in Settings.variables()
    ]
    header = ("Variable", "Settings field", "Type", "When unset", "Constraint", "Description")
    return md.table(header, rows)
