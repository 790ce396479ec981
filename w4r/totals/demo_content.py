"""Published totals of past campaigns and cases, for the demo.

Every figure is as Amnesty International's public Write for Rights documents state it (the
qualifier keeps their wording: "more than", "nearly", "almost"). The 2022 figure is derived
the way the 2023 report states it: 2023's 5,828,000 actions were "about 500,000 more than in
2022".
"""

from __future__ import annotations

from dataclasses import dataclass

from w4r.totals.models import Qualifier

AUSTRALIA = "Amnesty International Australia, Write for Rights campaign page"
CANADA = "Amnesty International Canada, 'Write for Rights: Why hope and humanity deserve to win'"
USA = "Amnesty International USA, 'What is Write for Rights?' campaign page"
UK = "Amnesty International UK, 'Write for Rights 2025' press release"
SUCCESSES = "Amnesty International, Write for Rights success stories ('With the power of the pen')"


@dataclass(frozen=True, slots=True)
class DemoYearTotal:
    year: int
    quantity: int
    qualifier: Qualifier
    counted: str
    source: str


@dataclass(frozen=True, slots=True)
class DemoCaseTotal:
    case_slug: str
    campaign_year: int | None
    country: str | None
    quantity: int
    qualifier: Qualifier
    counted: str
    source: str


DEMO_YEAR_TOTALS: tuple[DemoYearTotal, ...] = (
    DemoYearTotal(1991, 2_326, Qualifier.EXACT, "letters", AUSTRALIA),
    DemoYearTotal(
        2014,
        3_000_000,
        Qualifier.MORE_THAN,
        "messages (letters and e-mails) sent by hundreds of thousands of people",
        USA,
    ),
    DemoYearTotal(
        2022,
        5_300_000,
        Qualifier.ABOUT,
        "actions (2023's 5,828,000 were about 500,000 more than 2022's)",
        AUSTRALIA,
    ),
    DemoYearTotal(
        2023,
        5_828_000,
        Qualifier.MORE_THAN,
        "actions worldwide: letters, emails and petition signatures (1.2 million of them "
        "collected digitally by the International Secretariat; at least 250,500 cards and "
        "letters of solidarity)",
        AUSTRALIA,
    ),
    DemoYearTotal(
        2024,
        5_000_000,
        Qualifier.NEARLY,
        "messages of support and appeals to authorities",
        UK,
    ),
)

DEMO_CASE_TOTALS: tuple[DemoCaseTotal, ...] = (
    DemoCaseTotal(
        "nassima-al-sada",
        None,
        None,
        777_611,
        Qualifier.EXACT,
        "letters, tweets and more",
        SUCCESSES,
    ),
    DemoCaseTotal(
        "magai-matiop-ngong",
        2019,
        None,
        750_000,
        Qualifier.MORE_THAN,
        "letters, emails and petitions calling for his death sentence to be commuted",
        AUSTRALIA,
    ),
    DemoCaseTotal(
        "magai-matiop-ngong",
        2019,
        "AU",
        18_000,
        Qualifier.ALMOST,
        "actions in Australia",
        AUSTRALIA,
    ),
    DemoCaseTotal(
        "yasaman-aryani-and-monireh-arabshahi",
        2019,
        None,
        1_000_000,
        Qualifier.MORE_THAN,
        "supporters around the world who took action",
        AUSTRALIA,
    ),
    DemoCaseTotal(
        "yasaman-aryani-and-monireh-arabshahi",
        2019,
        "AU",
        100_000,
        Qualifier.EXACT,
        "supporters in Australia who took action",
        AUSTRALIA,
    ),
    DemoCaseTotal(
        "melike-and-ozgur",
        2020,
        None,
        445_000,
        Qualifier.EXACT,
        "people from over 43 countries who demanded the activists' acquittal",
        AUSTRALIA,
    ),
    DemoCaseTotal("moses-akatugba", 2014, None, 800_000, Qualifier.MORE_THAN, "actions", USA),
    DemoCaseTotal(
        "yecenia-armenta", 2015, None, 300_000, Qualifier.MORE_THAN, "actions", SUCCESSES
    ),
)
