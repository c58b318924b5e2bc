"""A statement with an expanding IN, expanded once per number of values.

An expanding IN (`sku IN :skus`, `(sku, location) IN :keys`) has SQL that depends on how many
values it gets, so SQLAlchemy expands it at every execution (`construct_expanded_state`):
a third of the remaining Python of a statement sent to the driver (driver_statements.py),
nine times a checkout. The text, the order of the parameters and their processors depend only
on the number of values of each expanding parameter, so they are expanded by SQLAlchemy once
per such shape and kept; a call then only lays its values out in that order.

The layout is checked against SQLAlchemy's own expansion when a shape is first seen: a shape
whose values this does not lay out exactly as SQLAlchemy does is expanded by SQLAlchemy at
every call, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

Parameters = Mapping[str, Any]
_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Shape:
    sql: str
    # Per argument in order: (parameter name, index into its flattened values, or None for a
    # parameter that is not expanded) and SQLAlchemy's bind processor for it.
    sources: tuple[tuple[str, int | None], ...]
    processors: tuple[_Processor, ...]

    def arguments(self, parameters: Parameters, fixed: Parameters) -> list[Any]:
        flat: dict[str, list[Any]] = {}
        values = []
        for (name, index), process in zip(self.sources, self.processors, strict=True):
            if index is None:
                value = parameters[name] if name in parameters else fixed[name]
            else:
                if name not in flat:
                    flat[name] = _flattened(parameters[name])
                value = flat[name][index]
            values.append(value if process is None or value is None else process(value))
        return values


@dataclass
class Expansions:
    """The expansions of one compiled statement, by the number of values of each of its
    expanding parameters."""

    compiled: SQLCompiler
    expanding: tuple[str, ...]  # the names of its expanding parameters
    # False when a value is rendered into the text itself (a literal_execute parameter): the
    # text then depends on the values, not just on their number.
    shaped: bool
    _shapes: dict[tuple[int, ...], _Shape | None] = field(default_factory=dict)

    @classmethod
    def of(cls, compiled: SQLCompiler, late: Iterable[BindParameter[Any]]) -> Expansions:
        """For `compiled`, whose parameters `late` are rendered at each execution."""
        late = list(late)
        return cls(
            compiled,
            tuple(sorted(p.key for p in late)),
            shaped=all(p.expanding and not p.literal_execute for p in late),
        )

    def bound(self, parameters: Parameters) -> tuple[str, list[Any]]:
        """The SQL to send with `parameters`, and the arguments in their order."""
        if not self.shaped:
            return self._by_sqlalchemy(parameters)
        try:
            lengths = tuple(len(parameters[name]) for name in self.expanding)
        except (KeyError, TypeError):  # a value the statement gives itself: no shape to keep
            return self._by_sqlalchemy(parameters)
        if lengths not in self._shapes:
            self._shapes[lengths] = self._shape(parameters)
        shape = self._shapes[lengths]
        if shape is None:
            return self._by_sqlalchemy(parameters)
        return shape.sql, shape.arguments(parameters, self.compiled.params)

    def _by_sqlalchemy(self, parameters: Parameters) -> tuple[str, list[Any]]:
        state = self.compiled.construct_expanded_state(dict(parameters))
        values = []
        for name in state.positiontup or ():
            value = state.parameters[name]
            process = state.processors.get(name)
            values.append(value if process is None or value is None else process(value))
        return state.statement, values

    def _shape(self, parameters: Parameters) -> _Shape | None:
        state = self.compiled.construct_expanded_state(dict(parameters))
        source: dict[str, tuple[str, int | None]] = {}
        for name, expanded in state.parameter_expansion.items():
            for index, part in enumerate(expanded):
                source[part] = (name, index)
        order = tuple(source.get(name, (name, None)) for name in state.positiontup or ())
        shape = _Shape(
            sql=state.statement,
            sources=order,
            processors=tuple(state.processors.get(name) for name in state.positiontup or ()),
        )
        if shape.arguments(parameters, self.compiled.params) != self._by_sqlalchemy(parameters)[1]:
            return None
        return shape


def _flattened(values: Sequence[Any]) -> list[Any]:
    """An expanding parameter's values as SQLAlchemy numbers them: a tuple's members in turn."""
    flat: list[Any] = []
    for value in values:
        if isinstance(value, tuple | list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat
