"""Grouping batch-loaded rows by the key they were asked for (what every loader needs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

Key = TypeVar("Key")
Row = TypeVar("Row")


def group_by(
    keys: Iterable[Key], rows: Iterable[Row], key: Callable[[Row], Key]
) -> dict[Key, list[Row]]:
    """Every key asked for (with [] when it has no row), its rows in the order given."""
    grouped: dict[Key, list[Row]] = {each: [] for each in keys}
    for row in rows:
        grouped[key(row)].append(row)
    return grouped


def group_pairs(keys: Iterable[Key], pairs: Iterable[Any]) -> dict[Key, list[Any]]:
    """The same for ``(key, value)`` result rows: each key's values, in order."""
    grouped: dict[Key, list[Any]] = {each: [] for each in keys}
    for each, value in pairs:
        grouped[each].append(value)
    return grouped
