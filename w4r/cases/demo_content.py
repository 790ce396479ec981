"""Demo content: Write for Rights campaigns and cases, with outcomes and translations.

Every fact here (names, countries, years, dates, numbers, what happened) comes from Amnesty
International's public Write for Rights documents: campaign pages, success stories and a
press release. The texts themselves (English sources and translations) were written for the
demo and keep to those facts. Where a document gives only a month or a year, the date is the
first day of that month or year, with the matching precision. No postal address, email or
outcome is invented: what the documents do not state is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from w4r.campaigns.drafts import CampaignDraft
from w4r.campaigns.models import CampaignStatus
from w4r.cases.drafts import (
    AppealTargetDraft,
    CaseDraft,
    OutcomeDraft,
    SolidarityRecipientDraft,
    TextDraft,
)
from w4r.cases.models import DatePrecision, OutcomeKind, SubjectKind, Theme


@dataclass(frozen=True, slots=True)
class DemoTranslation:
    section_code: str | None  # None = an official IS translation; else "fr", "pl", "ca", ...
    language: str  # BCP 47, e.g. "fr", "pl", "fr-CA"
    text: TextDraft
    is_published: bool = True
    is_machine_translated: bool = False


@dataclass(frozen=True, slots=True)
class DemoCase:
    case: CaseDraft
    outcomes: tuple[OutcomeDraft, ...] = ()
    is_published: bool = True
    translations: tuple[DemoTranslation, ...] = ()


DEMO_CAMPAIGNS: tuple[CampaignDraft, ...] = (
    # The UK press release: the campaign "runs between 1 November - 31 December 2025".
    CampaignDraft(
        year=2025,
        name="Write for Rights 2025",
        starts_on=date(2025, 11, 1),
        ends_on=date(2025, 12, 31),
        status=CampaignStatus.OPEN,
    ),
    CampaignDraft(year=2024, name="Write for Rights 2024", status=CampaignStatus.CLOSED),
    CampaignDraft(year=2023, name="Write for Rights 2023", status=CampaignStatus.CLOSED),
    CampaignDraft(year=2022, name="Write for Rights 2022", status=CampaignStatus.CLOSED),
    CampaignDraft(year=2021, name="Write for Rights 2021", status=CampaignStatus.CLOSED),
    CampaignDraft(year=2020, name="Write for Rights 2020", status=CampaignStatus.CLOSED),
    CampaignDraft(year=2019, name="Write for Rights 2019", status=CampaignStatus.CLOSED),
    # "What is Write for Rights?" does not print its year. It is the 2015 campaign: its
    # "Last year" successes include Moses Akatugba, a "2014 Write for Rights Case". Cases
    # are made public on October 1st, letters run to December 31st, the official dates are
    # December 4th to 18th, letters are reported by January 15th (of the next year), and
    # the goal is quoted from the document. The document says "12 cases" in one place and
    # "all ten cases" in the goal: the goal keeps its own words.
    CampaignDraft(
        year=2015,
        name="Write for Rights 2015",
        starts_on=date(2015, 10, 1),
        ends_on=date(2015, 12, 31),
        status=CampaignStatus.CLOSED,
        action_days_start=date(2015, 12, 4),
        action_days_end=date(2015, 12, 18),
        reporting_deadline=date(2016, 1, 15),
        goal_actions=4_000_000,
        goal_description=(
            "Surpass 4 million actions and make a difference in the lives of all ten cases."
        ),
    ),
    CampaignDraft(year=2014, name="Write for Rights 2014", status=CampaignStatus.CLOSED),
)


DEMO_CASES: tuple[DemoCase, ...] = (
    # ----------------------------------------------------------------------------------
    # 2025 (the UK press release)
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="sonia-dahmani",
            subject_kind=SubjectKind.PERSON,
            subject_name="Sonia Dahmani",
            country="TN",
            themes=(Theme.FREEDOM_OF_EXPRESSION,),
            source_language="en",
            source_text=TextDraft(
                title="Sonia Dahmani: lawyer detained for speaking out",
                summary=(
                    "Sonia Dahmani, a lawyer, has been arbitrarily detained in Tunisia since "
                    "2024 for peacefully exercising her right to freedom of expression."
                ),
                story=(
                    "Sonia Dahmani is a lawyer. Since 2024 she has been arbitrarily detained "
                    "in Tunisia for peacefully exercising her right to freedom of expression. "
                    "Her case is featured in Write for Rights 2025. During the campaign, people "
                    "around the world write messages of support to those whose rights are "
                    "being abused and press the authorities to act."
                ),
                demands=(
                    "Urge the Tunisian authorities to release Sonia Dahmani, detained for "
                    "peacefully exercising her right to freedom of expression."
                ),
                letter_guidance=(
                    "Send Sonia a message of solidarity to let her know that she is not "
                    "fighting alone."
                ),
            ),
            campaign_years=(2025,),
            solidarity_recipients=(
                SolidarityRecipientDraft(
                    name="Sonia Dahmani",
                    guidance="Keep it personal and hopeful: tell Sonia where you are writing from.",
                ),
            ),
        ),
        translations=(
            DemoTranslation(
                section_code=None,
                language="fr",
                text=TextDraft(
                    title="Sonia Dahmani : une avocate détenue pour avoir pris la parole",
                    summary=(
                        "Sonia Dahmani, avocate, est détenue arbitrairement en Tunisie depuis "
                        "2024 pour avoir exercé pacifiquement son droit à la liberté "
                        "d'expression."
                    ),
                    story=(
                        "Sonia Dahmani est avocate. Depuis 2024, elle est détenue arbitrairement "
                        "en Tunisie pour avoir exercé pacifiquement son droit à la liberté "
                        "d'expression. Son cas fait partie de la campagne Écrire pour les droits "
                        "2025. Pendant la campagne, des personnes du monde entier écrivent des "
                        "messages de soutien à celles et ceux dont les droits sont bafoués et "
                        "font pression sur les autorités pour qu'elles agissent."
                    ),
                    demands=(
                        "Exhortez les autorités tunisiennes à libérer Sonia Dahmani, détenue "
                        "pour avoir exercé pacifiquement son droit à la liberté d'expression."
                    ),
                    letter_guidance=(
                        "Envoyez à Sonia un message de solidarité pour lui dire qu'elle n'est "
                        "pas seule dans ce combat."
                    ),
                ),
            ),
            DemoTranslation(
                section_code="pl",
                language="pl",
                text=TextDraft(
                    title="Sonia Dahmani: prawniczka zatrzymana za zabieranie głosu",
                    summary=(
                        "Sonia Dahmani, prawniczka, jest arbitralnie przetrzymywana w Tunezji "
                        "od 2024 roku za pokojowe korzystanie z prawa do wolności wypowiedzi."
                    ),
                    story=(
                        "Sonia Dahmani jest prawniczką. Od 2024 roku jest arbitralnie "
                        "przetrzymywana w Tunezji za pokojowe korzystanie z prawa do wolności "
                        "wypowiedzi. Jej sprawa jest częścią Maratonu Pisania Listów 2025. "
                        "W czasie kampanii ludzie na całym świecie piszą wiadomości wsparcia do "
                        "osób, których prawa są łamane, i wywierają presję na władze, aby "
                        "działały."
                    ),
                    demands=(
                        "Wezwij władze Tunezji do uwolnienia Sonii Dahmani, przetrzymywanej za "
                        "pokojowe korzystanie z prawa do wolności wypowiedzi."
                    ),
                ),
                is_machine_translated=True,
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="sai-zaw-thaike",
            subject_kind=SubjectKind.PERSON,
            subject_name="Sai Zaw Thaike",
            country="MM",
            themes=(Theme.PRESS_FREEDOM, Theme.TORTURE),
            source_language="en",
            source_text=TextDraft(
                title="Sai Zaw Thaike: photojournalist imprisoned in Myanmar",
                summary=(
                    "Photojournalist Sai Zaw Thaike has been imprisoned and tortured for "
                    "speaking out in Myanmar."
                ),
                story=(
                    "Sai Zaw Thaike is a photojournalist who has been imprisoned and tortured "
                    "for speaking out in Myanmar. The case is featured in Write for Rights "
                    "2025, which runs from 1 November to 31 December 2025."
                ),
                demands="Call for the release of photojournalist Sai Zaw Thaike.",
                letter_guidance=(
                    "Write a message of support to Sai Zaw Thaike, and ask the authorities of "
                    "Myanmar to act."
                ),
            ),
            campaign_years=(2025,),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="abortion-support-network-volunteers",
            subject_kind=SubjectKind.GROUP,
            subject_name="Abortion Support Network volunteers",
            country="GB",
            themes=(Theme.SEXUAL_AND_REPRODUCTIVE_RIGHTS, Theme.HUMAN_RIGHTS_DEFENDERS),
            source_language="en",
            source_text=TextDraft(
                title="Abortion Support Network volunteers: safe abortion across Europe",
                summary=(
                    "UK volunteers for the Abortion Support Network are working tirelessly to "
                    "ensure safe access to abortion for people across Europe."
                ),
                story=(
                    "The Abortion Support Network's volunteers are based in the UK. They work "
                    "tirelessly to ensure that people across Europe can access safe abortion. "
                    "Their case is featured in Write for Rights 2025."
                ),
                letter_guidance=(
                    "Send the volunteers a message of solidarity for the work they do."
                ),
            ),
            campaign_years=(2025,),
            solidarity_recipients=(
                SolidarityRecipientDraft(
                    name="Abortion Support Network volunteers",
                    guidance="Thank the volunteers and tell them they are not alone.",
                ),
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="students-in-the-usa",
            subject_kind=SubjectKind.GROUP,
            subject_name="Students across the USA",
            country="US",
            themes=(Theme.RIGHT_TO_PROTEST,),
            source_language="en",
            source_text=TextDraft(
                title="Students in the USA facing deportation for protesting",
                summary=(
                    "Students across the USA face detention and deportation for taking part "
                    "in recent protests."
                ),
                story=(
                    "Students across the USA face detention and deportation for taking part "
                    "in recent protests. Their case is featured in Write for Rights 2025."
                ),
                letter_guidance="Send the students a message of solidarity.",
            ),
            campaign_years=(2025,),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="young-indigenous-activists-ecuador",
            subject_kind=SubjectKind.GROUP,
            subject_name="Fifteen young Indigenous activists from the Ecuadorian Amazon",
            country="EC",
            themes=(
                Theme.ENVIRONMENT,
                Theme.INDIGENOUS_PEOPLES,
                Theme.CHILDREN_AND_YOUNG_PEOPLE,
            ),
            source_language="en",
            source_text=TextDraft(
                title="Young Indigenous activists challenging gas flaring in Ecuador",
                summary=(
                    "Fifteen young Indigenous activists from the Ecuadorian Amazon are "
                    "challenging gas flaring operations that harm their health and environment."
                ),
                story=(
                    "Fifteen young Indigenous activists from the Ecuadorian Amazon are "
                    "challenging gas flaring operations. These operations harm their health and "
                    "their environment. Their case is featured in Write for Rights 2025."
                ),
                letter_guidance="Send the fifteen activists a message of solidarity.",
            ),
            campaign_years=(2025,),
            solidarity_recipients=(
                SolidarityRecipientDraft(
                    name="Fifteen young Indigenous activists from the Ecuadorian Amazon",
                    guidance="Tell them that people around the world stand with them.",
                ),
            ),
        ),
    ),
    # The draft: visible to IS staff only until it is published.
    DemoCase(
        case=CaseDraft(
            slug="young-environmental-activists-cambodia",
            subject_kind=SubjectKind.GROUP,
            subject_name="Young environmental activists in Cambodia",
            country="KH",
            themes=(
                Theme.ENVIRONMENT,
                Theme.HUMAN_RIGHTS_DEFENDERS,
                Theme.CHILDREN_AND_YOUNG_PEOPLE,
            ),
            source_language="en",
            source_text=TextDraft(
                title="Young activists in Cambodia jailed for protecting their environment",
                summary=(
                    "Young activists in Cambodia have been jailed for protecting their environment."
                ),
                story=(
                    "Young activists in Cambodia have been jailed for protecting their "
                    "environment. Their case is featured in Write for Rights 2025."
                ),
                demands="Call for the release of the jailed young activists.",
            ),
            campaign_years=(2025,),
            internal_notes="Awaiting consent for the photograph.",
        ),
        is_published=False,
    ),
    # ----------------------------------------------------------------------------------
    # 2024: the UK press release updates "the people featured in last year's campaign",
    # then earlier ones, which it dates ("In 2021", "the 2022 ... campaign"). Neth Nahara
    # and Rita Karasartova, listed first and undated, are read as the 2024 cases.
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="neth-nahara",
            subject_kind=SubjectKind.PERSON,
            subject_name="Neth Nahara",
            # The document names Luanda and President João Lourenço, not the country.
            country="AO",
            themes=(Theme.FREEDOM_OF_EXPRESSION,),
            source_language="en",
            source_text=TextDraft(
                title="Neth Nahara: jailed for a TikTok video",
                summary=(
                    "Ana da Silva Miguel, also known as Neth Nahara, was sentenced to two years "
                    "in prison after broadcasting a live video on TikTok criticising President "
                    "João Lourenço."
                ),
                story=(
                    "Ana da Silva Miguel, also known as Neth Nahara, was arrested at her home "
                    "in Luanda on 13 August 2023 after broadcasting a live video on TikTok "
                    "criticising President João Lourenço. She was convicted of “outrage "
                    "against the state, its symbols and bodies”, and sentenced to two years in "
                    "prison and a fine. Her case was featured in Write for Rights 2024."
                ),
                letter_guidance="Send Neth Nahara a message of support.",
            ),
            campaign_years=(2024,),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2024, 12, 25),
                date_precision=DatePrecision.DAY,
                kind=OutcomeKind.OTHER,
                description=(
                    "The president's office announced that 50 individuals, including Neth "
                    "Nahara, would receive pardons."
                ),
            ),
            OutcomeDraft(
                occurred_on=date(2025, 1, 1),
                date_precision=DatePrecision.DAY,
                kind=OutcomeKind.RELEASED,
                description="Neth Nahara was released from prison.",
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="rita-karasartova",
            subject_kind=SubjectKind.PERSON,
            subject_name="Rita Karasartova",
            country="KG",
            themes=(Theme.HUMAN_RIGHTS_DEFENDERS,),
            source_language="en",
            source_text=TextDraft(
                title="Rita Karasartova: charged for opposing a border agreement",
                summary=(
                    "Human rights defender Rita Karasartova was arrested in 2022 along with 26 "
                    "others for opposing a new border agreement that gave control of a "
                    "freshwater reservoir to Uzbekistan."
                ),
                story=(
                    "Human rights defender Rita Karasartova was arrested in 2022 along with 26 "
                    "others for opposing a new border agreement that gave control of a "
                    "freshwater reservoir to Uzbekistan. She was initially detained for "
                    "organising “mass disorder” and later charged with attempting to "
                    "“violently overthrow the Government”, which carries a potential 15-year "
                    "sentence. Her case was featured in Write for Rights 2024."
                ),
                letter_guidance="Send Rita a message of support.",
            ),
            campaign_years=(2024,),
            internal_notes=(
                "The prosecutor has filed an appeal against the acquittal: check the state of "
                "the appeal before any update on this case."
            ),
        ),
        outcomes=(
            # The 2025 press release says "on 14 June this year".
            OutcomeDraft(
                occurred_on=date(2025, 6, 14),
                date_precision=DatePrecision.DAY,
                kind=OutcomeKind.ACQUITTED,
                description=(
                    "Rita Karasartova and at least 21 others were acquitted: a significant "
                    "victory for justice and human rights in Kyrgyzstan, even though the "
                    "prosecutor has filed an appeal against the ruling."
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2023
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="rocky-myers",
            subject_kind=SubjectKind.PERSON,
            subject_name="Rocky Myers",
            country="US",
            themes=(Theme.DEATH_PENALTY,),
            source_language="en",
            source_text=TextDraft(
                title="Rocky Myers: three decades on death row",
                summary=(
                    "Rocky Myers, a Black man with an intellectual disability, spent three "
                    "decades on death row in Alabama after a deeply flawed trial. A judge "
                    "sentenced him to death against the jury's wishes."
                ),
                story=(
                    "Rocky Myers was convicted in a deeply flawed trial and spent three decades "
                    "on death row in Alabama, in the USA. He was sentenced by a judge who "
                    "imposed the death penalty against the jury's wishes. This practice, known "
                    "as “judicial override”, was abolished in 2017, but not applied "
                    "retroactively to Rocky or others. In 2023, Rocky was part of Write for "
                    "Rights, and hundreds of thousands of people wrote letters demanding "
                    "clemency."
                ),
                demands="Call on the Governor of Alabama to grant Rocky Myers clemency.",
                letter_guidance=(
                    "Write to the Governor of Alabama asking for clemency, and send Rocky a "
                    "message of support."
                ),
                image_alt="Rocky Myers wearing a white shirt and looking into the camera.",
            ),
            campaign_years=(2023,),
            appeal_targets=(
                # The documents do not name the governor: the office stands for the name.
                AppealTargetDraft(
                    name="The Governor of Alabama",
                    title="Governor of Alabama",
                    organisation="State of Alabama",
                ),
            ),
            solidarity_recipients=(
                SolidarityRecipientDraft(
                    name="Rocky Myers",
                    guidance=(
                        "Write to Rocky as a person, father and grandfather: tell him that "
                        "people around the world are thinking of him."
                    ),
                ),
            ),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2025, 2, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.SENTENCE_COMMUTED,
                description=(
                    "The governor of Alabama commuted Rocky Myers' death sentence. The threat "
                    "of execution has finally ended."
                ),
            ),
        ),
        translations=(
            DemoTranslation(
                section_code=None,
                language="fr",
                text=TextDraft(
                    title="Rocky Myers : trois décennies dans le couloir de la mort",
                    summary=(
                        "Rocky Myers, un homme noir atteint d'une déficience intellectuelle, a "
                        "passé trois décennies dans le couloir de la mort en Alabama à l'issue "
                        "d'un procès entaché de graves irrégularités. Un juge l'a condamné à "
                        "mort contre l'avis du jury."
                    ),
                    story=(
                        "Rocky Myers a été déclaré coupable à l'issue d'un procès entaché de "
                        "graves irrégularités et a passé trois décennies dans le couloir de la "
                        "mort en Alabama, aux États-Unis. Il a été condamné par un juge qui a "
                        "prononcé la peine de mort contre l'avis du jury. Cette pratique, "
                        "appelée « judicial override », a été abolie en 2017, mais sans effet "
                        "rétroactif pour Rocky ni pour d'autres. En 2023, Rocky a fait partie "
                        "de la campagne Écrire pour les droits, et des centaines de milliers de "
                        "personnes ont écrit des lettres pour demander sa grâce."
                    ),
                    demands=(
                        "Demandez au gouverneur de l'Alabama d'accorder sa grâce à Rocky Myers."
                    ),
                    image_alt=("Rocky Myers, vêtu d'une chemise blanche, regarde l'objectif."),
                ),
            ),
            DemoTranslation(
                section_code="pl",
                language="pl",
                text=TextDraft(
                    title="Rocky Myers: trzy dekady w celi śmierci",
                    summary=(
                        "Rocky Myers, czarnoskóry mężczyzna z niepełnosprawnością intelektualną, "
                        "spędził trzy dekady w celi śmierci w Alabamie po głęboko wadliwym "
                        "procesie. Sędzia skazał go na karę śmierci wbrew woli ławy "
                        "przysięgłych."
                    ),
                    story=(
                        "Rocky Myers został skazany w głęboko wadliwym procesie i spędził trzy "
                        "dekady w celi śmierci w Alabamie w USA. Wyrok wydał sędzia, który "
                        "orzekł karę śmierci wbrew woli ławy przysięgłych. Tę praktykę, znaną "
                        "jako „judicial override”, zniesiono w 2017 roku, ale nie zastosowano "
                        "tego wstecz wobec Rocky'ego ani innych osób. W 2023 roku sprawa "
                        "Rocky'ego była częścią Maratonu Pisania Listów, a setki tysięcy osób "
                        "napisały listy z żądaniem ułaskawienia."
                    ),
                    demands="Zaapeluj do gubernatora Alabamy o ułaskawienie Rocky'ego Myersa.",
                ),
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="sawyeddollah",
            subject_kind=SubjectKind.PERSON,
            subject_name="Maung Sawyeddollah",
            # The case is about a Rohingya refugee who fled Myanmar and lived in Cox's Bazar
            # refugee camp: the country is Bangladesh, where the camp is and from where he
            # was campaigned for, not Myanmar, which he fled.
            country="BD",
            themes=(Theme.REFUGEES_AND_MIGRANTS, Theme.CHILDREN_AND_YOUNG_PEOPLE),
            source_language="en",
            source_text=TextDraft(
                title="Maung Sawyeddollah, Rohingya refugee",
                summary=(
                    "Sawyeddollah fled his home after Myanmar's military unleashed ethnic "
                    "cleansing against the Rohingya, and walked with his family for 15 days to "
                    "Bangladesh."
                ),
                story=(
                    "Sawyeddollah fled his home after Myanmar's military unleashed ethnic "
                    "cleansing against the Rohingya. Together with his family, the teenager "
                    "walked 15 days to Bangladesh, until they reached Cox's Bazar refugee "
                    "camp. He featured in Write for Rights in 2023."
                ),
                letter_guidance="Send Sawyeddollah a message of solidarity.",
                image_alt="Maung Sawyeddollah in New York, USA, in 2024.",
            ),
            campaign_years=(2023,),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2024, 8, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.VISA_GRANTED,
                description=(
                    "Following calls from Amnesty International, Sawyeddollah was granted a "
                    "student visa and moved to the USA to study."
                ),
            ),
        ),
        translations=(
            DemoTranslation(
                section_code="ca",
                language="fr-CA",
                text=TextDraft(
                    title="Maung Sawyeddollah, réfugié rohingya",
                    summary=(
                        "Sawyeddollah a fui son foyer après que l'armée du Myanmar a déclenché "
                        "un nettoyage ethnique contre les Rohingyas, et a marché 15 jours avec "
                        "sa famille jusqu'au Bangladesh."
                    ),
                    story=(
                        "Sawyeddollah a fui son foyer après que l'armée du Myanmar a déclenché "
                        "un nettoyage ethnique contre les Rohingyas. Avec sa famille, "
                        "l'adolescent a marché 15 jours jusqu'au Bangladesh, jusqu'à leur "
                        "arrivée au camp de réfugiés de Cox's Bazar. Son cas a été présenté "
                        "dans Écrire pour les droits en 2023."
                    ),
                    letter_guidance="Envoyez à Sawyeddollah un message de solidarité.",
                ),
            ),
        ),
    ),
    # Uncle Pabai and Uncle Paul and Justyna Wydrzyńska: the page that reports the 2023
    # figures and says "In 2024, let's keep on showing solidarity" lists them under "Right
    # now" with Rocky Myers, a 2023 case: they are read as the 2023 campaign's cases.
    DemoCase(
        case=CaseDraft(
            slug="uncle-pabai-and-uncle-paul",
            subject_kind=SubjectKind.GROUP,
            subject_name="Uncle Pabai and Uncle Paul",
            # The document says "the Torres Strait" (and is an Australian page), not Australia.
            country="AU",
            themes=(Theme.ENVIRONMENT, Theme.INDIGENOUS_PEOPLES),
            source_language="en",
            source_text=TextDraft(
                title="Uncle Pabai and Uncle Paul: saving their homelands from climate change",
                summary=(
                    "Uncle Pabai and Uncle Paul are community leaders from the Guda Maluyligal "
                    "Nation in the Torres Strait, fighting to save their ancestral homelands "
                    "from the risks of climate change."
                ),
                story=(
                    "Uncle Pabai and Uncle Paul are community leaders from the Guda Maluyligal "
                    "Nation in the Torres Strait. They are fighting to save their ancestral "
                    "homelands from the risks of climate change. Their case was featured in "
                    "Write for Rights 2023."
                ),
                letter_guidance=(
                    "Send Uncle Pabai and Uncle Paul a message of solidarity for their fight."
                ),
            ),
            campaign_years=(2023,),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="justyna-wydrzynska",
            subject_kind=SubjectKind.PERSON,
            subject_name="Justyna Wydrzyńska",
            country="PL",
            themes=(Theme.SEXUAL_AND_REPRODUCTIVE_RIGHTS, Theme.HUMAN_RIGHTS_DEFENDERS),
            source_language="en",
            source_text=TextDraft(
                title="Justyna Wydrzyńska: convicted for helping a woman access abortion",
                summary=(
                    "Activist Justyna Wydrzyńska has been convicted for helping a woman in a "
                    "violent relationship access a safe abortion, which is a crime in Poland."
                ),
                story=(
                    "Justyna Wydrzyńska is an activist. She has been convicted for helping a "
                    "woman in a violent relationship access a safe abortion, which is a crime "
                    "in Poland. Her case was featured in Write for Rights 2023."
                ),
                letter_guidance="Send Justyna a message of support.",
            ),
            campaign_years=(2023,),
        ),
        translations=(
            DemoTranslation(
                section_code="pl",
                language="pl",
                text=TextDraft(
                    title="Justyna Wydrzyńska: skazana za pomoc w dostępie do aborcji",
                    summary=(
                        "Aktywistka Justyna Wydrzyńska została skazana za pomoc kobiecie "
                        "w przemocowym związku w dostępie do bezpiecznej aborcji, co w Polsce "
                        "jest przestępstwem."
                    ),
                    story=(
                        "Justyna Wydrzyńska jest aktywistką. Została skazana za pomoc kobiecie "
                        "w przemocowym związku w dostępie do bezpiecznej aborcji, co w Polsce "
                        "jest przestępstwem. Jej sprawa była częścią Maratonu Pisania Listów "
                        "2023."
                    ),
                    letter_guidance="Wyślij Justynie wiadomość wsparcia.",
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2022
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="dorgelesse-nguessan",
            subject_kind=SubjectKind.PERSON,
            subject_name="Dorgelesse Nguessan",
            country="CM",
            themes=(Theme.RIGHT_TO_PROTEST,),
            source_language="en",
            source_text=TextDraft(
                title="Dorgelesse Nguessan: jailed for her first protest",
                summary=(
                    "Dorgelesse Nguessan was arrested at a peaceful protest in Cameroon in "
                    "September 2020, her first demonstration, and sentenced to five years in "
                    "prison."
                ),
                story=(
                    "In September 2020, Dorgelesse Nguessan joined a peaceful protest in "
                    "Cameroon. It was her first demonstration. She was arrested, charged with "
                    "“insurrection, assembly, meetings and public demonstrations” and "
                    "sentenced to five years in prison. Dorgelesse became part of Write for "
                    "Rights in 2022, and thousands of people called for her release."
                ),
                demands="Call for the release of Dorgelesse Nguessan.",
                letter_guidance="Send Dorgelesse and her family a message of hope.",
                image_alt="Dorgelesse Nguessan standing and smiling.",
            ),
            campaign_years=(2022,),
            solidarity_recipients=(
                SolidarityRecipientDraft(
                    name="Dorgelesse Nguessan",
                    guidance="Your message can give strength to Dorgelesse and her family.",
                ),
            ),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2025, 1, 1),
                date_precision=DatePrecision.YEAR,
                kind=OutcomeKind.RELEASED,
                description=(
                    "After five years in prison, Dorgelesse Nguessan was freed and reunited "
                    "with her family."
                ),
            ),
        ),
        translations=(
            DemoTranslation(
                section_code="fr",
                language="fr",
                text=TextDraft(
                    title="Dorgelesse Nguessan : emprisonnée pour sa première manifestation",
                    summary=(
                        "Dorgelesse Nguessan a été arrêtée lors d'une manifestation pacifique au "
                        "Cameroun en septembre 2020, sa toute première manifestation, et "
                        "condamnée à cinq ans de prison."
                    ),
                    story=(
                        "En septembre 2020, Dorgelesse Nguessan a participé à une manifestation "
                        "pacifique au Cameroun. C'était sa première manifestation. Elle a été "
                        "arrêtée, inculpée d'« insurrection, rassemblement, réunions et "
                        "manifestations publiques » et condamnée à cinq ans de prison. "
                        "Dorgelesse a rejoint la campagne Écrire pour les droits en 2022, et "
                        "des milliers de personnes ont demandé sa libération."
                    ),
                    demands="Demandez la libération de Dorgelesse Nguessan.",
                    letter_guidance="Envoyez à Dorgelesse et à sa famille un message d'espoir.",
                ),
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="cecillia-chimbiri-and-joanah-mamombe",
            subject_kind=SubjectKind.GROUP,
            subject_name="Cecillia Chimbiri and Joanah Mamombe",
            country="ZW",
            themes=(Theme.RIGHT_TO_PROTEST,),
            source_language="en",
            source_text=TextDraft(
                title="Cecillia Chimbiri and Joanah Mamombe: abducted after a protest",
                summary=(
                    "Cecillia Chimbiri and Joanah Mamombe were arrested and abducted in May "
                    "2020 following a protest on the Government's failure to provide social "
                    "protection during the Covid 19 pandemic."
                ),
                story=(
                    "In May 2020, Cecillia Chimbiri, Joanah Mamombe and Netsai Marova were "
                    "arrested and abducted following a protest on the Government's failure to "
                    "provide social protection during the Covid 19 pandemic. Cecillia and "
                    "Joanah were tried for communicating falsehoods and obstructing the course "
                    "of justice. Netsai Marova did not face trial as she is out of the "
                    "country. Amnesty campaigned for them during the 2022 Write for Rights "
                    "campaign."
                ),
                letter_guidance="Send Cecillia and Joanah a message of support.",
            ),
            campaign_years=(2022,),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2023, 7, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.ACQUITTED,
                description=(
                    "The Zimbabwean High Court acquitted Cecillia Chimbiri and Joanah Mamombe "
                    "of communicating falsehoods and obstructing the course of justice."
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2021
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="mohamed-baker",
            subject_kind=SubjectKind.PERSON,
            subject_name="Mohamed Baker",
            country="EG",
            themes=(Theme.HUMAN_RIGHTS_DEFENDERS,),
            source_language="en",
            source_text=TextDraft(
                title="Mohamed Baker: human rights lawyer in prison",
                summary=(
                    "Mohamed Baker is an Egyptian human rights lawyer. Amnesty campaigned for "
                    "him in Write for Rights 2021."
                ),
                story=(
                    "Mohamed Baker is an Egyptian human rights lawyer who was held in prison. "
                    "In 2021, Amnesty campaigned for him as part of Write for Rights."
                ),
                letter_guidance="Send Mohamed Baker a message of support.",
            ),
            campaign_years=(2021,),
        ),
        outcomes=(
            # The 2025 press release: "a presidential pardon in July last year".
            OutcomeDraft(
                occurred_on=date(2024, 7, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.RELEASED,
                description=(
                    "Mohamed Baker received a presidential pardon in July 2024 and was released "
                    "from prison the following day. He is now safely reunited with his loved "
                    "ones."
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2020
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="melike-and-ozgur",
            subject_kind=SubjectKind.GROUP,
            subject_name="Melike and Özgür",
            country="TR",
            themes=(Theme.LGBTI_RIGHTS, Theme.RIGHT_TO_PROTEST),
            source_language="en",
            source_text=TextDraft(
                title="Melike and Özgür: on trial for a Pride march",
                summary=(
                    "Student activists Melike and Özgür faced three years in prison after "
                    "taking part in a peaceful Pride march for LGBTQIA+ rights at their "
                    "university in Ankara, Turkey."
                ),
                story=(
                    "Student activists Melike and Özgür were taking part in a peaceful Pride "
                    "march for LGBTQIA+ rights at their university in Ankara, Turkey, when "
                    "they came under attack from police, who used pepper spray, plastic "
                    "bullets and tear gas on the protesters. Melike and Özgür, along with 17 "
                    "others, were then charged with “unlawful assembly” and “failing to "
                    "disperse despite being warned”. They faced three years in prison. During "
                    "Write for Rights 2020, 445,000 people from over 43 countries demanded the "
                    "activists' acquittal."
                ),
                demands="Demand the acquittal of Melike, Özgür and the other activists.",
                letter_guidance="Send Melike and Özgür a message of solidarity.",
            ),
            campaign_years=(2020,),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2021, 10, 8),
                date_precision=DatePrecision.DAY,
                kind=OutcomeKind.ACQUITTED,
                description="After two years on trial, all 19 activists were acquitted.",
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2019
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="magai-matiop-ngong",
            subject_kind=SubjectKind.PERSON,
            subject_name="Magai Matiop Ngong",
            country="SS",
            themes=(Theme.DEATH_PENALTY, Theme.CHILDREN_AND_YOUNG_PEOPLE),
            source_language="en",
            source_text=TextDraft(
                title="Magai Matiop Ngong: sentenced to death at 15",
                summary=(
                    "Magai Matiop Ngong was a secondary school student, just 15 years old, "
                    "when he was sentenced to death by hanging in South Sudan in November 2017."
                ),
                story=(
                    "Magai Matiop Ngong was a secondary school student when he was convicted "
                    "of murder, which he says was an accident. He was just 15 years old when "
                    "he was sentenced to death by hanging in November 2017. Magai caught "
                    "global attention through Write for Rights 2019, with over 750,000 "
                    "letters, emails and petitions calling for his death sentence to be "
                    "commuted. In Australia, almost 18,000 actions were taken for Magai."
                ),
                demands="Call for Magai's death sentence to be commuted.",
                letter_guidance="Send Magai a message of hope.",
            ),
            campaign_years=(2019,),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2022, 3, 22),
                date_precision=DatePrecision.DAY,
                kind=OutcomeKind.RELEASED,
                description="The High Court of South Sudan freed Magai Matiop Ngong.",
            ),
        ),
        translations=(
            DemoTranslation(
                section_code="fr",
                language="fr",
                text=TextDraft(
                    title="Magai Matiop Ngong : condamné à mort à 15 ans",
                    summary=(
                        "Magai Matiop Ngong était un élève du secondaire de seulement 15 ans "
                        "lorsqu'il a été condamné à mort par pendaison au Soudan du Sud, en "
                        "novembre 2017."
                    ),
                    story=(
                        "Magai Matiop Ngong était élève du secondaire lorsqu'il a été déclaré "
                        "coupable de meurtre, pour une mort qui, selon lui, était accidentelle. "
                        "Il n'avait que 15 ans lorsqu'il a été condamné à mort par pendaison, "
                        "en novembre 2017. Le cas de Magai a attiré l'attention du monde entier "
                        "grâce à Écrire pour les droits 2019 : plus de 750 000 lettres, e-mails "
                        "et signatures de pétitions ont demandé la commutation de sa "
                        "condamnation à mort. En Australie, près de 18 000 actions ont été "
                        "menées pour Magai."
                    ),
                    demands="Demandez que la condamnation à mort de Magai soit commuée.",
                    letter_guidance="Envoyez à Magai un message d'espoir.",
                ),
            ),
            DemoTranslation(
                section_code="pl",
                language="pl",
                text=TextDraft(
                    title="Magai Matiop Ngong: skazany na śmierć w wieku 15 lat",
                    summary=(
                        "Magai Matiop Ngong był uczniem szkoły średniej i miał zaledwie 15 lat, "
                        "gdy w listopadzie 2017 roku w Sudanie Południowym skazano go na śmierć "
                        "przez powieszenie."
                    ),
                    story=(
                        "Magai Matiop Ngong był uczniem szkoły średniej, gdy został skazany za "
                        "zabójstwo, które według niego było wypadkiem. Miał zaledwie 15 lat, "
                        "gdy w listopadzie 2017 roku skazano go na śmierć przez powieszenie. "
                        "Dzięki Maratonowi Pisania Listów 2019 o Magaiu usłyszał cały świat: "
                        "ponad 750 000 listów, e-maili i podpisów pod petycjami wzywało do "
                        "zamiany jego wyroku śmierci. W Australii podjęto dla Magaia prawie "
                        "18 000 działań."
                    ),
                    demands="Zażądaj zamiany wyroku śmierci Magaia.",
                ),
                is_published=False,
            ),
        ),
    ),
    DemoCase(
        case=CaseDraft(
            slug="yasaman-aryani-and-monireh-arabshahi",
            subject_kind=SubjectKind.GROUP,
            subject_name="Yasaman Aryani and Monireh Arabshahi",
            country="IR",
            themes=(Theme.WOMENS_RIGHTS, Theme.FREEDOM_OF_EXPRESSION),
            source_language="en",
            source_text=TextDraft(
                title="Yasaman Aryani and Monireh Arabshahi: jailed for opposing forced veiling",
                summary=(
                    "In 2019, women's rights advocates Yasaman Aryani and Monireh Arabshahi "
                    "were sentenced to 16 years in prison for speaking out against Iran's "
                    "forced veiling laws."
                ),
                story=(
                    "In 2019, Yasaman Aryani and Monireh Arabshahi were sentenced to 16 years "
                    "in prison for speaking out against Iran's forced veiling laws. The two "
                    "women's rights advocates were accused of “inciting and facilitating "
                    "corruption and prostitution” by promoting “unveiling”. As part of Write "
                    "for Rights 2019, Amnesty started a petition calling on the Iranian "
                    "authorities to release them. An incredible 100,000 supporters in "
                    "Australia and over one million supporters around the world took action to "
                    "demand their freedom."
                ),
                demands="Call on the Iranian authorities to release Yasaman and Monireh.",
                letter_guidance="Send Yasaman and Monireh a message of solidarity.",
            ),
            campaign_years=(2019,),
            appeal_targets=(AppealTargetDraft(name="Iranian authorities"),),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2023, 2, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.RELEASED,
                description=(
                    "After nearly four years in prison, the Iranian authorities released "
                    "Yasaman and Monireh."
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2015
    # ----------------------------------------------------------------------------------
    # Nassima al-Sada: the success stories give her total (777,611) and her release, not the
    # year her case was featured, so she is linked to no campaign.
    DemoCase(
        case=CaseDraft(
            slug="nassima-al-sada",
            subject_kind=SubjectKind.PERSON,
            subject_name="Nassima al-Sada",
            country="SA",
            themes=(Theme.WOMENS_RIGHTS, Theme.HUMAN_RIGHTS_DEFENDERS),
            source_language="en",
            source_text=TextDraft(
                title="Nassima al-Sada: campaigner for women's freedom",
                summary=(
                    "Nassima al-Sada, a campaigner for women's freedom in Saudi Arabia, was "
                    "arrested in 2018 for peacefully defending human rights."
                ),
                story=(
                    "Nassima al-Sada was arrested in 2018 for peacefully defending human rights. "
                    "While she was imprisoned the guards beat her and banned anyone from "
                    "visiting, even her lawyer. Supporters worldwide wrote 777,611 letters, "
                    "tweets and more. Her son, Mousa al-Sada, feels that international "
                    "attention on his mother helped push her case to a verdict after years of "
                    "stagnation, and aided in securing her release. She is still subject to a "
                    "travel ban: she cannot leave Saudi Arabia for five years."
                ),
            ),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2021, 6, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.RELEASED,
                description=(
                    "Nassima al-Sada walked free from jail; a travel ban keeps her from leaving "
                    "Saudi Arabia for five years."
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="yecenia-armenta",
            subject_kind=SubjectKind.PERSON,
            subject_name="Yecenia Armenta",
            country="MX",
            themes=(Theme.TORTURE,),
            source_language="en",
            source_text=TextDraft(
                title="Yecenia Armenta: tortured into a confession",
                summary=(
                    "Yecenia Armenta was imprisoned in Mexico after being tortured in order to "
                    "force a confession that she killed her husband."
                ),
                story=(
                    "Yecenia Armenta was tortured in order to force a confession that she "
                    "killed her husband, and was imprisoned for four years. As part of Write "
                    "for Rights 2015, over 300,000 actions were taken on her case urging the "
                    "Mexican Government to drop the charges and release her. This activism "
                    "helped shift public opinion and media coverage, and pressured the "
                    "government."
                ),
                demands=(
                    "Urge the Mexican Government to drop the charges against Yecenia Armenta "
                    "and release her."
                ),
                letter_guidance=(
                    "Write to the Mexican Government, and send Yecenia a message of hope."
                ),
            ),
            campaign_years=(2015,),
            appeal_targets=(AppealTargetDraft(name="Mexican Government"),),
        ),
        outcomes=(
            OutcomeDraft(
                occurred_on=date(2016, 3, 1),
                date_precision=DatePrecision.MONTH,
                kind=OutcomeKind.ACQUITTED,
                description="Yecenia Armenta was acquitted and released.",
            ),
        ),
        translations=(
            DemoTranslation(
                section_code=None,
                language="es",
                text=TextDraft(
                    title="Yecenia Armenta: torturada para arrancarle una confesión",
                    summary=(
                        "Yecenia Armenta fue encarcelada en México después de ser torturada "
                        "para obligarla a confesar que había matado a su esposo."
                    ),
                    story=(
                        "Yecenia Armenta fue torturada para obligarla a confesar que había "
                        "matado a su esposo, y pasó cuatro años en prisión. Como parte de "
                        "Escribe por los Derechos 2015, se realizaron más de 300.000 acciones "
                        "en su caso para instar al Gobierno mexicano a retirar los cargos y "
                        "ponerla en libertad. Este activismo ayudó a cambiar la opinión pública "
                        "y la cobertura mediática, y presionó al gobierno."
                    ),
                    demands=(
                        "Insta al Gobierno mexicano a retirar los cargos contra Yecenia Armenta "
                        "y a ponerla en libertad."
                    ),
                ),
            ),
        ),
    ),
    # ----------------------------------------------------------------------------------
    # 2014
    # ----------------------------------------------------------------------------------
    DemoCase(
        case=CaseDraft(
            slug="moses-akatugba",
            subject_kind=SubjectKind.PERSON,
            subject_name="Moses Akatugba",
            country="NG",
            themes=(Theme.DEATH_PENALTY, Theme.TORTURE, Theme.CHILDREN_AND_YOUNG_PEOPLE),
            source_language="en",
            source_text=TextDraft(
                title="Moses Akatugba: tortured and sentenced to death",
                summary=(
                    "Moses Akatugba was sixteen years old when he was arrested under suspicion "
                    "of armed robbery in 2005. He was forced to sign confessions and sentenced "
                    "to death in 2013."
                ),
                story=(
                    "Moses Akatugba was sixteen years old when he was arrested under suspicion "
                    "of armed robbery in 2005. He spent more than three months in police "
                    "detention, where he says that police officers repeatedly beat him with "
                    "machetes and batons. He told Amnesty that they tied and hung him up for "
                    "several hours, and then used pliers to pull out his toe and fingernails. "
                    "Finally, Moses was forced to sign two pre-written confessions, and was "
                    "sentenced to death in 2013. During Write for Rights 2014, activists took "
                    "more than 800,000 actions on his behalf."
                ),
                letter_guidance="Send Moses a message of support.",
            ),
            campaign_years=(2014,),
            internal_notes=(
                "Release year read from the 2015 campaign materials, which do not date it: "
                "confirm the date before quoting it."
            ),
        ),
        outcomes=(
            # The 2015 campaign page lists "Moses Akatugba was released from death row in
            # Nigeria" among the results of "Last year['s]" messages (the 2014 campaign) and
            # ends his story "now he will walk free!". It gives no date: the release is read
            # as news at the time of that 2015 page, hence the year 2015 (YEAR precision).
            OutcomeDraft(
                occurred_on=date(2015, 1, 1),
                date_precision=DatePrecision.YEAR,
                kind=OutcomeKind.RELEASED,
                description="Moses Akatugba was released from death row in Nigeria.",
            ),
        ),
    ),
)
