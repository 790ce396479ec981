"""Relay-style connections with opaque keyset cursors (at most 100 nodes a page)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import orjson
import strawberry

from w4r.schema.errors import bad_user_input

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

NodeType = TypeVar("NodeType")
Item = TypeVar("Item")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]


def encode_cursor(kind: str, key: Sequence[str]) -> str:
    raw = orjson.dumps([kind, *key])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def invalid_cursor() -> Exception:
    return bad_user_input("The cursor is not valid for this list.")


def decode_cursor(kind: str, cursor: str, arity: int) -> list[str]:
    """The key inside ``cursor``; a top-level error if it is not one of ``kind``'s cursors."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, orjson.JSONDecodeError, UnicodeError, ValueError) as error:
        raise invalid_cursor() from error
    if (
        not isinstance(decoded, list)
        or len(decoded) != arity + 1
        or decoded[0] != kind
        or not all(isinstance(part, str) and "\x00" not in part for part in decoded[1:])
    ):
        raise invalid_cursor()
    return decoded[1:]


def cursor_integer(value: str, *, minimum: int, maximum: int) -> int:
    """An integer part of a cursor key: ASCII digits within bounds, else a bad cursor."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(maximum)):
        raise invalid_cursor()
    number = int(value)
    if not minimum <= number <= maximum:
        raise invalid_cursor()
    return number


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_user_input(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    return first


def build_connection(
    items: Sequence[Item],
    limit: int,
    *,
    kind: str,
    key: Callable[[Item], Sequence[str]],
    node: Callable[[Item], NodeType],
) -> Connection[NodeType]:
    """A page from ``items`` fetched with ``limit + 1`` rows: the extra row means more."""
    page = items[:limit]
    edges = [Edge(cursor=encode_cursor(kind, key(item)), node=node(item)) for item in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(items) > limit,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
