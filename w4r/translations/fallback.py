"""Which text a reader gets: the fallback chain, as a pure function.

For each requested language, in the order asked (an argument, or Accept-Language by
preference, or the section's default):

1. the section's own published translation into that language;
2. the IS text in that language (its published official translation, or the source when
   the source is in that language);
3. the same two for each parent language (``fr-CA`` -> ``fr``; ``zh-Hant-TW`` -> ``zh-Hant``
   -> ``zh``);

and when no requested language has a text, the IS source. The result says which language
was served, from where, and whether that is a fallback (not the first language asked for).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Text = TypeVar("Text")


class TextOrigin(enum.StrEnum):
    SECTION = "section"
    """The section's own translation."""
    INTERNATIONAL_SECRETARIAT = "international-secretariat"
    """An official translation by the International Secretariat."""
    SOURCE = "source"
    """The IS source text."""


@dataclass(frozen=True, slots=True)
class Served(Generic[Text]):
    text: Text
    language: str
    origin: TextOrigin
    requested_language: str | None
    is_fallback: bool


def language_chain(tag: str) -> list[str]:
    """The tag and its parents, most specific first: ``fr-CA`` -> ``['fr-CA', 'fr']``."""
    parts = tag.split("-")
    return ["-".join(parts[:length]) for length in range(len(parts), 0, -1)]


def resolve(
    requested: Sequence[str],
    *,
    section_texts: Mapping[str, Text],
    is_texts: Mapping[str, Text],
    source: Text,
    source_language: str,
) -> Served[Text]:
    """The text to serve. ``section_texts`` and ``is_texts`` hold only servable (published)
    texts by language; ``is_texts`` may include the source under its own language."""
    first = requested[0] if requested else None
    for wanted in requested:
        for language in language_chain(wanted):
            if language in section_texts:
                return Served(
                    section_texts[language],
                    language,
                    TextOrigin.SECTION,
                    first,
                    language != first,
                )
            if language == source_language:
                return Served(source, language, TextOrigin.SOURCE, first, language != first)
            if language in is_texts:
                return Served(
                    is_texts[language],
                    language,
                    TextOrigin.INTERNATIONAL_SECRETARIAT,
                    first,
                    language != first,
                )
    return Served(
        source,
        source_language,
        TextOrigin.SOURCE,
        first,
        first is not None and source_language != first,
    )
