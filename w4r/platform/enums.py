"""A column type for Python string enums stored by value, checked by the database."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum


def value_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR column holding ``enum_class`` values, with a CHECK constraint ``name``."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=_values,
        validate_strings=True,
    )


def _values(enum_class: Any) -> list[str]:
    return [member.value for member in enum_class]
