"""The leaf-list executor answers exactly as graphql-core's own, data and errors alike."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any

import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from w4r.schema.actions.enums import ActionTypeEnum
from w4r.schema.execution import LeafListExecutionContext
from w4r.schema.totals.types import TotalsCell

CELL_FIELDS = (
    "caseId",
    "sectionCode",
    "actionType",
    "channel",
    "day",
    "country",
    "isSuppressed",
    "quantity",
    "verified",
    "selfReported",
)
TAGGED_FIELDS = ("name", "tags", "scores", "kind")
FIRST_TYPE: Any = next(iter(ActionTypeEnum))


@strawberry.enum
class Kind(enum.Enum):
    FIRST = "first"
    SECOND = "second"


@strawberry.type
class Tagged:
    name: str
    tags: list[str]
    scores: list[int | None] | None
    kind: Kind | None


@strawberry.type
class Query:
    cells: list[TotalsCell]
    optional_cells: list[TotalsCell | None] | None
    tagged: list[Tagged]
    one_cell: TotalsCell | None = None
    one_tagged: Tagged | None = None


def schemas() -> dict[str, strawberry.Schema]:
    return {
        name: strawberry.federation.Schema(query=Query, execution_context_class=executor)
        for name, executor in (
            ("fast", LeafListExecutionContext),
            ("normal", StrawberryGraphQLCoreExecutionContext),
        )
    }


SCHEMAS = schemas()


def answer(schema: strawberry.Schema, query: str, root: Any) -> tuple[Any, list[Any]]:
    result = schema.execute_sync(query, root_value=root)
    return result.data, [error.formatted for error in result.errors or ()]


# Mostly good values, sometimes what a field must refuse (a null where none may be, a value
# of another type, an Int out of range, an exception, an awaitable-looking object).
def maybe_bad(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        good,
        good,
        good,
        st.none(),
        st.text(max_size=3),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.just(ValueError("broken")),
        st.just(float("nan")),
    )


def cells() -> st.SearchStrategy[TotalsCell]:
    return st.builds(
        TotalsCell,
        case_id=maybe_bad(st.uuids()),
        section_code=maybe_bad(st.text(max_size=4)),
        action_type=maybe_bad(st.sampled_from(list(ActionTypeEnum))),
        channel=st.none(),
        day=maybe_bad(st.dates()),
        country=maybe_bad(st.sampled_from(["GB", "MX"])),
        is_suppressed=maybe_bad(st.booleans()),
        quantity=maybe_bad(st.integers(min_value=0, max_value=10**6)),
        verified=maybe_bad(st.integers(min_value=0, max_value=10**6)),
        self_reported=maybe_bad(st.integers(min_value=0, max_value=10**6)),
    )


def tagged() -> st.SearchStrategy[Tagged]:
    return st.builds(
        Tagged,
        name=maybe_bad(st.text(max_size=4)),
        tags=st.one_of(
            st.lists(maybe_bad(st.text(max_size=3)), max_size=3),
            st.tuples(st.text(max_size=2)),
            st.none(),
            st.just("not a list"),
        ),
        scores=st.one_of(st.none(), st.lists(maybe_bad(st.integers(-5, 5)), max_size=3)),
        kind=maybe_bad(st.sampled_from(list(Kind))),
    )


def selection(fields: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Some of the fields, some under an alias, sometimes with __typename."""
    chosen = st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields))
    aliased = st.lists(st.booleans(), min_size=len(fields), max_size=len(fields))
    return st.builds(
        lambda names, aliases, typename: " ".join(
            [
                f"a{index}: {name}" if aliases[index % len(aliases)] else name
                for index, name in enumerate(names)
            ]
            + (["__typename"] if typename else [])
        ),
        chosen,
        aliased,
        st.booleans(),
    )


@settings(max_examples=300, deadline=None)
@given(
    cell_list=st.lists(cells(), max_size=5),
    optional=st.one_of(st.none(), st.lists(st.one_of(st.none(), cells()), max_size=4)),
    nulls_in_cells=st.booleans(),
    tagged_list=st.lists(tagged(), max_size=4),
    one_cell=st.one_of(st.none(), cells()),
    one_tagged=st.one_of(st.none(), tagged()),
    cell_selection=selection(CELL_FIELDS),
    tagged_selection=selection(TAGGED_FIELDS),
)
def test_the_fast_path_answers_exactly_as_graphql_core(
    cell_list: list[TotalsCell],
    optional: list[TotalsCell | None] | None,
    nulls_in_cells: bool,
    tagged_list: list[Tagged],
    one_cell: TotalsCell | None,
    one_tagged: Tagged | None,
    cell_selection: str,
    tagged_selection: str,
) -> None:
    # given lists of real totals cells (and a type with lists of leaves), and single ones,
    # with good and bad values
    root = Query(
        cells=[*cell_list, None] if nulls_in_cells else cell_list,  # type: ignore[list-item]
        optional_cells=optional,
        tagged=tagged_list,
        one_cell=one_cell,
        one_tagged=one_tagged,
    )
    query = (
        f"{{ cells {{ {cell_selection} }} optionalCells {{ {cell_selection} }} "
        f"tagged {{ {tagged_selection} }} oneCell {{ {cell_selection} }} "
        f"oneTagged {{ {tagged_selection} }} }}"
    )

    # when both executors answer
    fast = answer(SCHEMAS["fast"], query, root)
    normal = answer(SCHEMAS["normal"], query, root)

    # then the data and every error (message, path, locations) are the same
    assert fast == normal


class CountingExecutor(LeafListExecutionContext):
    executed_fields = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        CountingExecutor.executed_fields += 1
        return super().execute_field(*args, **kwargs)


def test_a_list_of_plain_cells_executes_no_field_of_its_items() -> None:
    # given 100 plain cells
    cell = TotalsCell(
        case_id=uuid.UUID(int=1),
        section_code="gb",
        action_type=FIRST_TYPE,
        channel=None,
        day=datetime.date(2025, 12, 10),
        country="GB",
        is_suppressed=False,
        quantity=3,
        verified=2,
        self_reported=1,
    )
    schema = strawberry.federation.Schema(query=Query, execution_context_class=CountingExecutor)
    root = Query(cells=[cell] * 100, optional_cells=None, tagged=[])
    CountingExecutor.executed_fields = 0

    # when they are asked for
    result = schema.execute_sync(
        "{ cells { caseId sectionCode actionType day quantity isSuppressed } }", root_value=root
    )

    # then only the root field went through field execution, and the answer is right
    assert result.errors is None
    assert CountingExecutor.executed_fields == 1
    assert result.data == {
        "cells": [
            {
                "caseId": "00000000-0000-0000-0000-000000000001",
                "sectionCode": "gb",
                "actionType": FIRST_TYPE.name,
                "day": "2025-12-10",
                "quantity": 3,
                "isSuppressed": False,
            }
        ]
        * 100
    }
