"""Inputs built from graphql-core's coerced values get what strawberry's conversion gives."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
import strawberry

from w4r.schema.inputs import UnsupportedInputError, coerced_input


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class PlainRow:
    count: int
    reference: UUID
    colour: Colour
    label: str
    at: datetime
    note: str | None = None
    is_checked: bool = True


@coerced_input
@strawberry.input
class BuiltRow:
    count: int
    reference: UUID
    colour: Colour
    label: str
    at: datetime
    note: str | None = None
    is_checked: bool = True


@coerced_input
@strawberry.input
class BuiltBatch:
    rows: list[BuiltRow]
    title: str | None = None


received: dict[str, Any] = {}


@strawberry.type
class Query:
    @strawberry.field
    def take(self, built: BuiltBatch, plain: list[PlainRow]) -> int:
        received.update(built=built, plain=plain)
        return len(plain)


SCHEMA = strawberry.Schema(query=Query)
TAKE = "query ($built: BuiltBatch!, $plain: [PlainRow!]!) { take(built: $built, plain: $plain) }"


def test_built_inputs_equal_strawberrys_conversion() -> None:
    # given rows with every field given, and with the defaulted fields left out
    rows = [
        {
            "count": 3,
            "reference": str(uuid.uuid4()),
            "colour": "BLUE",
            "label": "a",
            "at": "2025-11-21T10:11:12+01:00",
            "note": "n",
            "isChecked": False,
        },
        {
            "count": 4,
            "reference": str(uuid.uuid4()),
            "colour": "RED",
            "label": "b",
            "at": "2025-11-21T10:11:12Z",
        },
    ]

    # when both kinds of input are built from them
    result = SCHEMA.execute_sync(TAKE, {"built": {"rows": rows}, "plain": rows})

    # then they hold the same values, of the same types
    assert result.errors is None
    built, plain = received["built"], received["plain"]
    assert isinstance(built, BuiltBatch)
    assert built.title is None
    assert all(isinstance(row, BuiltRow) for row in built.rows)
    assert [dataclasses.asdict(row) for row in built.rows] == [
        dataclasses.asdict(row) for row in plain
    ]
    assert built.rows[0].colour is Colour.BLUE
    assert built.rows[1].note is None
    assert built.rows[1].is_checked is True


def test_an_input_with_an_object_field_is_refused() -> None:
    # given an input with a field of an input type not built this way
    @strawberry.input
    class Wrapper:
        row: PlainRow

    # when it is marked, then it is refused
    with pytest.raises(UnsupportedInputError, match=r"Wrapper\.row"):
        coerced_input(Wrapper)
