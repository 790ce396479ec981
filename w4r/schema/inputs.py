"""Input objects built straight from the values graphql-core has coerced.

strawberry converts every input object field by field: for every value it resolves each
field's type and GraphQL name again and walks the list items one call each, some 20 µs an
object. graphql-core's coercion has already produced each leaf's Python value (a ``UUID``,
a ``datetime``, an enum member, published defaults filled in), so for an input made of
leaves, and lists of such inputs, :func:`coerced_input` builds the objects in one pass from
names resolved once. The schema, the coercion and its errors stay graphql-core's and
strawberry's: only the copying into the input classes is done here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

T = TypeVar("T", bound=type)

_LEAF_TYPES: frozenset[object] = frozenset({int, float, str, bool, UUID, date, datetime})


class UnsupportedInputError(TypeError):
    """An input given to :func:`coerced_input` has a field it cannot build."""


@dataclass
class _Builder:
    """Builds the values of one input type; ``nested[python name]`` builds the items of a
    list field."""

    definition: StrawberryObjectDefinition
    nested: dict[str, _Builder]
    names: list[tuple[str, str, _Builder | None]] = field(default_factory=list)

    def build(self, origin: type, value: Mapping[str, Any], config: StrawberryConfig) -> Any:
        if not self.names:  # GraphQL names depend on the schema's config: resolved once
            self.names = [
                (
                    config.name_converter.from_field(input_field),
                    input_field.python_name,
                    self.nested.get(input_field.python_name),
                )
                for input_field in self.definition.fields
            ]
        # Omitted fields are absent only when their default is not published: the class's
        # own default applies then, as in strawberry's conversion.
        if not self.nested:
            return origin(
                **{python: value[graphql] for graphql, python, _ in self.names if graphql in value}
            )
        arguments: dict[str, Any] = {}
        for graphql, python, nested in self.names:
            if graphql in value:
                given = value[graphql]
                if nested is not None and given is not None:
                    given = [nested.build(nested.definition.origin, item, config) for item in given]
                arguments[python] = given
        return origin(**arguments)


_BUILDERS: dict[type, _Builder] = {}


def _is_leaf(type_: StrawberryType | type) -> bool:
    return (
        type_ in _LEAF_TYPES
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def coerced_input(cls: T) -> T:
    """Have strawberry build ``cls``, a ``strawberry.input`` whose fields are leaves
    (scalars, enums) or lists of inputs already marked so, in one pass; raises
    UnsupportedInputError for any other field."""
    definition = getattr(cls, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
        raise UnsupportedInputError(f"{cls.__name__} is not a strawberry input.")
    nested: dict[str, _Builder] = {}
    for input_field in definition.fields:
        type_ = input_field.resolve_type(type_definition=definition)
        if isinstance(type_, StrawberryOptional):
            type_ = type_.of_type
        if _is_leaf(type_):
            continue
        item = type_.of_type if isinstance(type_, StrawberryList) else None
        if not isinstance(item, type) or item not in _BUILDERS:
            raise UnsupportedInputError(
                f"{cls.__name__}.{input_field.python_name} is neither a leaf nor a list of "
                "non-null inputs marked with coerced_input."
            )
        nested[input_field.python_name] = _BUILDERS[item]
    builder = _BUILDERS[cls] = _Builder(definition, nested)

    def build(origin: type, value: Mapping[str, Any], context: InputContext) -> Any:
        return builder.build(origin, value, context.config)

    definition.from_input = build
    return cls
