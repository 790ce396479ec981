"""Operations generated from the built schema: one minimal valid operation per root field.

Shared by the permission matrix (tests/schema/test_permission_matrix.py) and the
cross-section probes (tests/reliability/test_cross_section.py), so that a new root field is
exercised by both without anyone writing an operation for it: required arguments get
type-correct dummy values found by walking the input types, a page size is given where a
field pages, and the selection is ``__typename``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined

SCALAR_DUMMIES: dict[str, Any] = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "UUID": "00000000-0000-4000-8000-000000000000",
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00+00:00",
}


def dummy(type_: GraphQLInputType) -> Any:
    """A value of ``type_``: required input fields filled, optional ones left out."""
    if isinstance(type_, GraphQLNonNull):
        return dummy(type_.of_type)
    if isinstance(type_, GraphQLList):
        return []
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: dummy(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(type_, GraphQLScalarType)
    assert type_.name in SCALAR_DUMMIES, f"add a dummy value for the scalar {type_.name}"
    return SCALAR_DUMMIES[type_.name]


def is_required(argument: GraphQLArgument) -> bool:
    return isinstance(argument.type, GraphQLNonNull)


@dataclass(frozen=True)
class Operation:
    coordinate: str
    kind: str
    name: str
    document: str
    variables: dict[str, Any]


def operation(kind: str, name: str, field: GraphQLField) -> Operation:
    """``kind { name(<required arguments>, first: 1) { __typename } }`` with variables."""
    arguments = {
        argument_name: argument
        for argument_name, argument in field.args.items()
        if is_required(argument) or argument_name == "first"
    }
    declarations = ", ".join(f"${each}: {argument.type}" for each, argument in arguments.items())
    passed = ", ".join(f"{each}: ${each}" for each in arguments)
    variables = {
        each: 1 if each == "first" else dummy(argument.type) for each, argument in arguments.items()
    }
    selection = (
        " { __typename }" if not isinstance(get_named_type(field.type), GraphQLScalarType) else ""
    )
    head = f"{kind} ({declarations})" if declarations else kind
    call = f"{name}({passed})" if passed else name
    type_name = kind.capitalize()
    return Operation(
        f"{type_name}.{name}", kind, name, f"{head} {{ {call}{selection} }}", variables
    )


def roots(schema: strawberry.Schema) -> list[tuple[str, GraphQLObjectType]]:
    """``(kind, root type)`` for query, mutation and subscription."""
    graphql_schema = schema._schema
    found: list[tuple[str, GraphQLObjectType]] = []
    for kind, root in (
        ("query", graphql_schema.query_type),
        ("mutation", graphql_schema.mutation_type),
        ("subscription", graphql_schema.subscription_type),
    ):
        assert root is not None, f"the schema has no {kind} type"
        found.append((kind, root))
    return found


def operations(schema: strawberry.Schema) -> list[Operation]:
    """One operation for every root field of the built schema."""
    return [
        operation(kind, name, field)
        for kind, root in roots(schema)
        for name, field in root.fields.items()
    ]
