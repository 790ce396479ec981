"""Quality lists of HTTP headers such as Accept and Accept-Language (RFC 9110 §12.4.2)."""

from __future__ import annotations

from w4r.platform.languages import normalize_language_tag

MAX_ITEMS = 20


def parse_quality_list(header: str | None) -> list[tuple[str, float]]:
    """Items with their q-value, best first (ties keep the header's order); q=0 dropped."""
    if not header:
        return []
    items: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:MAX_ITEMS]):
        value, *parameters = (part.strip() for part in item.split(";"))
        if not value:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, raw = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            items.append((-quality, position, value))
    return [(value, -quality) for quality, _, value in sorted(items)]


def accepted_languages(header: str | None) -> list[str]:
    """The valid language tags of an Accept-Language header, best first, canonical.

    Entries that are not language tags (``*``, typos) are skipped: a browser's header is
    not the caller's to fix."""
    languages: list[str] = []
    for value, _ in parse_quality_list(header):
        try:
            tag = normalize_language_tag(value)
        except ValueError:
            continue
        if tag not in languages:
            languages.append(tag)
    return languages
