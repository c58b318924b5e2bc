"""A msgspec Struct read from the environment, each field from one variable named after it.

A field's variable is a prefix and the field's name in upper case (`database_pool_size` ->
`SHOPCORE_DATABASE_POOL_SIZE`), so no variable name is written down twice. All else a reader
needs is declared on the field, in `Annotated[..., msgspec.Meta(...)]`: the rules its value
keeps (`ge=1`, `min_length=32`), a `description`, and in `extra` what a bare `NAME=value`
cannot say:

- `when_unset`: the text read when the variable is unset, where that is not the field's
  default (the database: `Settings()` keeps everything in memory, the environment's default
  is an SQLite file);
- `none`: the word that stands for None (`memory`, `none`);
- `expected`: what a refused value should have looked like, said instead of the bare rules
  (a URL's form, a currency code), without repeating the value.

Every field is read by the same three rules: an empty variable is an unset one; a tuple is
given comma-separated, blanks around each item dropped; msgspec converts the text to the
field's type (`strict=False`: "25" becomes 25) and checks the declared rules. A refused value
raises `SettingsError` naming the variable and the rule it broke. The value is repeated only
when it is not even of the field's type, which a string never fails to be, so no secret
reaches a log. The settings docs table is built from the same `Variable`s, so it says what
this module does.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A variable whose value was refused, named with the rule it broke."""


# What each `Meta` constraint demands, worded to follow "<VARIABLE> must be" (lengths are
# set on strings only).
_RULES = {
    "gt": "more than {}",
    "ge": "at least {}",
    "lt": "less than {}",
    "le": "at most {}",
    "multiple_of": "a multiple of {}",
    "min_length": "at least {} characters long",
    "max_length": "at most {} characters long",
    "pattern": "text matching `{}`",
}
_EXTRA = frozenset({"when_unset", "none", "expected"})


class Variable(msgspec.Struct, frozen=True, kw_only=True):
    """One field of a Struct as the environment gives it."""

    field: str
    name: str
    type: object  # without `Annotated` metadata: `int`, `str | None`, `tuple[str, ...]`
    annotation: object  # with it: what msgspec converts to and checks
    rules: tuple[str, ...]
    description: str
    when_unset: str | None
    none: str | None
    expected: str | None = None

    @property
    def listed(self) -> bool:
        """A tuple is given as comma-separated items."""
        return typing.get_origin(self.type) is tuple

    def read(self, environ: Mapping[str, str]) -> Any:
        """The field's value, or `msgspec.UNSET` to leave the field's default."""
        raw = environ.get(self.name) or self.when_unset
        if raw is None:
            return msgspec.UNSET
        if raw == self.none:
            return None
        text = [item.strip() for item in raw.split(",") if item.strip()] if self.listed else raw
        try:
            return msgspec.convert(text, self.annotation, strict=False)
        except msgspec.ValidationError:
            raise SettingsError(self._refusal(raw, text)) from None

    def _refusal(self, raw: str, text: object) -> str:
        if self.expected is not None:
            return f"{self.name} must be {self.expected}"
        try:
            msgspec.convert(text, self.type, strict=False)
        except msgspec.ValidationError:
            word = f" or `{self.none}`" if self.none is not None else ""
            return f"{self.name} must be {_kind(self.type)}{word}, got {raw!r}"
        return f"{self.name} must be {' and '.join(self.rules)}"


def variables(cls: type[msgspec.Struct], prefix: str) -> tuple[Variable, ...]:
    """The fields of `cls` in order, each with the variable it is read from."""
    bare = typing.get_type_hints(cls)
    return tuple(
        _variable(field, bare[field.name], prefix) for field in msgspec.structs.fields(cls)
    )


def read(cls: type[S], environ: Mapping[str, str], prefix: str) -> S:
    """`cls` from `environ`; a field whose variable is unset keeps its default."""
    values = {}
    for variable in variables(cls, prefix):
        value = variable.read(environ)
        if value is not msgspec.UNSET:
            values[variable.field] = value
    return cls(**values)


def _variable(field: msgspec.structs.FieldInfo, bare: object, prefix: str) -> Variable:
    metas = _metas(field.type)
    extra: dict[str, Any] = {}
    for meta in metas:
        extra.update(meta.extra or {})
    if unknown := extra.keys() - _EXTRA:
        raise TypeError(f"{field.name}: no such environment option: {', '.join(sorted(unknown))}")
    return Variable(
        field=field.name,
        name=prefix + field.name.upper(),
        type=bare,
        annotation=field.type,
        rules=tuple(
            rule.format(value)
            for meta in metas
            for constraint, rule in _RULES.items()
            if (value := getattr(meta, constraint)) is not None
        ),
        description=" ".join(meta.description for meta in metas if meta.description),
        when_unset=extra.get("when_unset"),
        none=extra.get("none"),
        expected=extra.get("expected"),
    )


def _metas(annotation: object) -> list[msgspec.Meta]:
    """Every `Meta` in a type, also those on a member of `X | None`."""
    own = [
        meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, msgspec.Meta)
    ]
    return own + [meta for arg in typing.get_args(annotation) for meta in _metas(arg)]


def _kind(kind: object) -> str:
    """What a value must be to convert at all: `an integer` for `int` and `int | None`."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(members) == 1:
            return _kind(members[0])
    if kind is int:
        return "an integer"
    if kind is bool:
        return "true or false"
    return f"a {getattr(kind, '__name__', kind)}"
