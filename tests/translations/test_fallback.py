"""The fallback chain as a pure function: which text a reader is served, and why."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from w4r.translations.fallback import Served, TextOrigin, language_chain, resolve

SOURCE = "source:en"

TAGS = ("en", "fr", "fr-CA", "pl", "de", "pt", "pt-BR", "zh", "zh-Hant", "zh-Hant-TW")


# --- language_chain ------------------------------------------------------------------------


def test_language_chain_of_a_bare_language_is_itself() -> None:
    # given/when/then a tag without subtags has no parent
    assert language_chain("pl") == ["pl"]


def test_language_chain_of_a_regional_tag_ends_with_its_language() -> None:
    # given/when/then fr-CA falls back to fr
    assert language_chain("fr-CA") == ["fr-CA", "fr"]


def test_language_chain_of_a_three_level_tag_drops_one_subtag_at_a_time() -> None:
    # given/when/then zh-Hant-TW -> zh-Hant -> zh, most specific first
    assert language_chain("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]


# --- resolve: each branch ------------------------------------------------------------------


def test_section_translation_is_served_before_the_is_translation() -> None:
    # given a section translation and an IS translation into the language asked for
    section_texts = {"pl": "section:pl"}
    is_texts = {"en": SOURCE, "pl": "is:pl"}

    # when Polish is asked for
    served = resolve(
        ["pl"], section_texts=section_texts, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then the section's own text wins
    assert served == Served("section:pl", "pl", TextOrigin.SECTION, "pl", False)


def test_section_translation_into_the_source_language_is_served_before_the_source() -> None:
    # given a section's own text in the case's source language
    section_texts = {"en": "section:en"}

    # when English is asked for
    served = resolve(
        ["en"],
        section_texts=section_texts,
        is_texts={"en": SOURCE},
        source=SOURCE,
        source_language="en",
    )

    # then the section's text is served, not the IS source
    assert served == Served("section:en", "en", TextOrigin.SECTION, "en", False)


def test_is_translation_is_served_when_the_section_has_none() -> None:
    # given only an IS official translation into French
    is_texts = {"en": SOURCE, "fr": "is:fr"}

    # when French is asked for
    served = resolve(
        ["fr"], section_texts={}, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then the IS translation is served
    assert served == Served("is:fr", "fr", TextOrigin.INTERNATIONAL_SECRETARIAT, "fr", False)


def test_source_is_served_when_the_source_language_is_asked_for() -> None:
    # given an English source and other translations
    is_texts = {"en": SOURCE, "fr": "is:fr"}

    # when English is asked for
    served = resolve(
        ["en"],
        section_texts={"fr": "section:fr"},
        is_texts=is_texts,
        source=SOURCE,
        source_language="en",
    )

    # then the source is served, and it is no fallback
    assert served == Served(SOURCE, "en", TextOrigin.SOURCE, "en", False)


def test_source_is_served_even_when_is_texts_leaves_it_out() -> None:
    # given is_texts without the source under its language
    # when the source language is asked for
    served = resolve(["en"], section_texts={}, is_texts={}, source=SOURCE, source_language="en")

    # then the source is still served as itself
    assert served == Served(SOURCE, "en", TextOrigin.SOURCE, "en", False)


def test_parent_language_through_the_section() -> None:
    # given a section translation into French only
    section_texts = {"fr": "section:fr"}

    # when Canadian French is asked for
    served = resolve(
        ["fr-CA"],
        section_texts=section_texts,
        is_texts={"en": SOURCE},
        source=SOURCE,
        source_language="en",
    )

    # then the section's French is served as a fallback
    assert served == Served("section:fr", "fr", TextOrigin.SECTION, "fr-CA", True)


def test_parent_language_through_the_is() -> None:
    # given an IS translation into French only
    is_texts = {"en": SOURCE, "fr": "is:fr"}

    # when Canadian French is asked for
    served = resolve(
        ["fr-CA"], section_texts={}, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then the IS French is served as a fallback
    assert served == Served("is:fr", "fr", TextOrigin.INTERNATIONAL_SECRETARIAT, "fr-CA", True)


def test_exact_is_translation_is_served_before_a_section_parent_language() -> None:
    # given the section has French and the IS has Canadian French
    section_texts = {"fr": "section:fr"}
    is_texts = {"en": SOURCE, "fr-CA": "is:fr-CA"}

    # when Canadian French is asked for
    served = resolve(
        ["fr-CA"],
        section_texts=section_texts,
        is_texts=is_texts,
        source=SOURCE,
        source_language="en",
    )

    # then the more specific language wins over the section's parent language
    assert served == Served(
        "is:fr-CA", "fr-CA", TextOrigin.INTERNATIONAL_SECRETARIAT, "fr-CA", False
    )


def test_three_level_tag_falls_back_to_its_middle_parent() -> None:
    # given texts in zh-Hant and zh
    is_texts = {"en": SOURCE, "zh-Hant": "is:zh-Hant", "zh": "is:zh"}

    # when zh-Hant-TW is asked for
    served = resolve(
        ["zh-Hant-TW"], section_texts={}, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then zh-Hant (the nearer parent) is served
    assert served == Served(
        "is:zh-Hant", "zh-Hant", TextOrigin.INTERNATIONAL_SECRETARIAT, "zh-Hant-TW", True
    )


def test_three_level_tag_falls_back_to_its_language() -> None:
    # given a section text in zh only
    section_texts = {"zh": "section:zh"}

    # when zh-Hant-TW is asked for
    served = resolve(
        ["zh-Hant-TW"],
        section_texts=section_texts,
        is_texts={"en": SOURCE},
        source=SOURCE,
        source_language="en",
    )

    # then zh is served
    assert served == Served("section:zh", "zh", TextOrigin.SECTION, "zh-Hant-TW", True)


def test_three_level_tag_served_exactly() -> None:
    # given a section text in zh-Hant-TW
    section_texts = {"zh-Hant-TW": "section:zh-Hant-TW", "zh": "section:zh"}

    # when zh-Hant-TW is asked for
    served = resolve(
        ["zh-Hant-TW"],
        section_texts=section_texts,
        is_texts={"en": SOURCE},
        source=SOURCE,
        source_language="en",
    )

    # then it is served as asked
    assert served == Served(
        "section:zh-Hant-TW", "zh-Hant-TW", TextOrigin.SECTION, "zh-Hant-TW", False
    )


def test_several_requested_languages_are_tried_in_order() -> None:
    # given texts in Polish and French but not German
    section_texts = {"fr": "section:fr"}
    is_texts = {"en": SOURCE, "pl": "is:pl"}

    # when German, then Polish, then French are asked for
    served = resolve(
        ["de", "pl", "fr"],
        section_texts=section_texts,
        is_texts=is_texts,
        source=SOURCE,
        source_language="en",
    )

    # then Polish (the first one available) is served as a fallback from German
    assert served == Served("is:pl", "pl", TextOrigin.INTERNATIONAL_SECRETARIAT, "de", True)


def test_parent_of_an_earlier_language_comes_before_a_later_language() -> None:
    # given texts in French and German
    is_texts = {"en": SOURCE, "fr": "is:fr", "de": "is:de"}

    # when Canadian French, then German are asked for
    served = resolve(
        ["fr-CA", "de"], section_texts={}, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then French (fr-CA's parent) is served before German
    assert served == Served("is:fr", "fr", TextOrigin.INTERNATIONAL_SECRETARIAT, "fr-CA", True)


def test_source_language_later_in_the_request_is_served_in_order() -> None:
    # given no German text and an English source
    # when German, then English are asked for
    served = resolve(
        ["de", "en"],
        section_texts={},
        is_texts={"en": SOURCE},
        source=SOURCE,
        source_language="en",
    )

    # then the source is served as a fallback from German
    assert served == Served(SOURCE, "en", TextOrigin.SOURCE, "de", True)


def test_nothing_matching_serves_the_source_as_a_fallback() -> None:
    # given texts in languages nobody asks for
    section_texts = {"fr": "section:fr"}
    is_texts = {"en": SOURCE, "pl": "is:pl"}

    # when German and Portuguese are asked for
    served = resolve(
        ["de", "pt-BR"],
        section_texts=section_texts,
        is_texts=is_texts,
        source=SOURCE,
        source_language="en",
    )

    # then the source is served, flagged as a fallback from the first language asked for
    assert served == Served(SOURCE, "en", TextOrigin.SOURCE, "de", True)


def test_empty_request_serves_the_source_without_fallback() -> None:
    # given texts in several languages
    section_texts = {"fr": "section:fr"}
    is_texts = {"en": SOURCE, "pl": "is:pl"}

    # when no language is asked for
    served = resolve(
        [], section_texts=section_texts, is_texts=is_texts, source=SOURCE, source_language="en"
    )

    # then the source is served, and nothing was requested so nothing fell back
    assert served == Served(SOURCE, "en", TextOrigin.SOURCE, None, False)


# --- property ------------------------------------------------------------------------------

tags = st.sampled_from(TAGS)


@given(
    requested=st.lists(tags, max_size=4),
    section_languages=st.lists(tags, unique=True),
    is_languages=st.lists(tags, unique=True),
    source_language=tags,
)
def test_served_language_is_requested_or_the_source_and_fallback_is_exact(
    requested: list[str],
    section_languages: list[str],
    is_languages: list[str],
    source_language: str,
) -> None:
    # given any texts and any request
    section_texts = {tag: f"section:{tag}" for tag in section_languages}
    is_texts = {tag: f"is:{tag}" for tag in is_languages}
    source = f"source:{source_language}"

    # when the text is resolved
    served = resolve(
        requested,
        section_texts=section_texts,
        is_texts=is_texts,
        source=source,
        source_language=source_language,
    )

    # then the language served is in a requested language's chain, or the source language
    allowed = {language for wanted in requested for language in language_chain(wanted)}
    assert served.language in allowed | {source_language}
    # and the text is the one stored for that language and origin
    expected_text = {
        TextOrigin.SECTION: section_texts.get(served.language),
        TextOrigin.INTERNATIONAL_SECRETARIAT: is_texts.get(served.language),
        TextOrigin.SOURCE: source if served.language == source_language else None,
    }[served.origin]
    assert served.text == expected_text
    # and the fallback flag is exactly "not the first language asked for"
    if requested:
        assert served.requested_language == requested[0]
        assert served.is_fallback is (served.language != requested[0])
    else:
        assert served.requested_language is None
        assert served.is_fallback is False
