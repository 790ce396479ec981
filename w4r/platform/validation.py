"""Input checks shared by every service. Each collects problems instead of stopping at the
first, so a caller learns everything wrong with an input at once."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from w4r.platform.errors import InvalidInputError, Problem, ProblemCode
from w4r.platform.languages import (
    normalize_country_code,
    normalize_language_tag,
    validate_time_zone,
)

MAX_URL_LENGTH = 2000
_MULTILINE_ALLOWED = {"\n", "\t", "\r"}


class Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, field: str | None, code: ProblemCode, message: str) -> None:
        self.items.append(Problem(field, code, message))

    def collect(self, error: InvalidInputError) -> None:
        self.items.extend(error.problems)

    def raise_any(self) -> None:
        if self.items:
            raise InvalidInputError(self.items)

    def text(
        self, value: str | None, field: str, *, max_length: int, multiline: bool = False
    ) -> str | None:
        """Trimmed text; single-line text has its white space collapsed. Empty -> None.
        Control characters (other than line breaks and tabs in multi-line text) are refused."""
        if value is None:
            return None
        cleaned = value.strip() if multiline else " ".join(value.split())
        allowed = _MULTILINE_ALLOWED if multiline else set()
        if any(
            unicodedata.category(character) == "Cc" and character not in allowed
            for character in cleaned
        ):
            self.add(field, ProblemCode.INVALID, "Text cannot contain control characters.")
            return None
        if len(cleaned) > max_length:
            self.add(field, ProblemCode.TOO_LONG, f"Keep it to {max_length} characters.")
            return None
        return cleaned or None

    def required_text(
        self, value: str | None, field: str, *, max_length: int, multiline: bool = False
    ) -> str:
        problems_before = len(self.items)
        cleaned = self.text(value, field, max_length=max_length, multiline=multiline)
        if cleaned is None and len(self.items) == problems_before:
            self.add(field, ProblemCode.REQUIRED, "This is required.")
        return cleaned or ""

    def language(self, value: str, field: str) -> str:
        try:
            return normalize_language_tag(value)
        except ValueError as error:
            self.add(field, ProblemCode.UNKNOWN_LANGUAGE, str(error))
            return value

    def country(self, value: str, field: str = "country") -> str:
        try:
            return normalize_country_code(value)
        except ValueError as error:
            self.add(field, ProblemCode.UNKNOWN_COUNTRY, str(error))
            return value

    def time_zone(self, value: str, field: str = "timeZone") -> str:
        try:
            return validate_time_zone(value)
        except ValueError as error:
            self.add(field, ProblemCode.UNKNOWN_TIME_ZONE, str(error))
            return value

    def email(self, value: str, field: str) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as error:
            self.add(field, ProblemCode.INVALID, f"{value!r}: {error}")
            return value

    def url(self, value: str | None, field: str) -> str | None:
        """An absolute http(s) URL, or None for an empty value."""
        cleaned = (value or "").strip()
        if not cleaned:
            return None
        parts = urlsplit(cleaned)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.netloc
            or len(cleaned) > MAX_URL_LENGTH
            or any(character.isspace() for character in cleaned)
        ):
            self.add(field, ProblemCode.INVALID, f"{value!r} is not an absolute http(s) URL.")
            return None
        return cleaned
