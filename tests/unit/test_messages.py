"""SMS texts: segments counted like Twilio, every template in every language within 2 segments."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.data import default_partners
from chalicelib.domain.messages import (
    CANCELLED_BY_CLOSE,
    KINDS,
    LANGUAGES,
    REMINDER,
    REPLY_KEYS,
    TEMPLATE_DIR,
    TEXT_VARIANTS,
    Values,
    count_segments,
    format_clock,
    format_date,
    message_id,
    phone_hash,
    render,
    templates,
)

BERLIN = ZoneInfo("Europe/Berlin")


# --- segment counting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),  # 2 × 153
        ("a" * 307, "GSM-7", 3),
        ("Grüße aus München, Straße ß é à ñ", "GSM-7", 1),  # all in the GSM-7 basic set
        ("€" * 80, "GSM-7", 1),  # extension characters count two septets: 160
        ("€" * 81, "GSM-7", 2),
        ("ж" * 70, "UCS-2", 1),
        ("ж" * 71, "UCS-2", 2),
        ("ж" * 134, "UCS-2", 2),  # 2 × 67
        ("ж" * 135, "UCS-2", 3),
        ("ç" + "a" * 69, "UCS-2", 1),  # one character outside GSM-7 turns the whole text into UCS-2
        ("😀" * 35, "UCS-2", 1),  # emoji are two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments_are_counted_like_twilio(text: str, encoding: str, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_an_extension_character_is_never_split_across_segments() -> None:
    # 152 plain septets then "€" (2 septets) would straddle the 153-septet boundary: it moves on.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).segments == 3


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    text = "ж" * 66 + "😀" + "ж" * 66  # 134 units, but the emoji cannot straddle units 67/68
    assert count_segments(text).units == 134
    assert count_segments(text).segments == 3


def test_extension_characters_count_double() -> None:
    assert count_segments("[x]").units == 5
    assert count_segments("{}|^~\\").units == 12


# --- dates and times ------------------------------------------------------------------------

START = datetime(2027, 3, 29, 9, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("language", "date", "clock"),
    [
        ("de", "Mo., 29. März", "09:00"),
        ("en", "Mon, Mar 29", "9:00 AM"),
        ("fr", "lun. 29 mars", "09:00"),
        ("ru", "пн, 29 мар.", "09:00"),
    ],
)
def test_dates_and_times_are_in_the_applicants_language(language: str, date: str, clock: str) -> None:
    assert format_date(START, language) == date
    assert format_clock(START, language) == clock


def test_times_are_shown_in_berlin_whatever_zone_they_are_stored_in() -> None:
    in_utc = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST, after the DST switch
    assert format_clock(in_utc, "de") == "09:00"
    winter = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 CET, before it
    assert format_clock(winter, "de") == "09:00"


def test_english_times_keep_the_message_in_gsm7() -> None:
    # Babel writes "9:00\u202fAM"; a narrow no-break space would force UCS-2 (70 instead of 160).
    body = render(REMINDER, "en", Values("K7P3-Q9XA", "VIA Bayern", "Landwehrstraße 22, 80336 München", START)).body
    assert "9:00 AM" in body
    assert count_segments(body).encoding == "GSM-7"


# --- templates ------------------------------------------------------------------------------

PARTNERS = default_partners()
LONG_PARTNER = "Beratungszentrum für Fachkräfte Oberbayern"  # 42 characters, longer than any real one
PARTNER_NAMES = [p["short_name"] for p in PARTNERS] + [LONG_PARTNER]
PLACES = [p["address"] for p in PARTNERS] + [
    "https://meet.jit.si/MigraNet-K7P3Q9XA",
    "https://migranet.example/video/K7P3-Q9XA",
]
# Long and short month and weekday names, morning and afternoon, both sides of the DST switch.
MOMENTS = [
    datetime(2027, month, day, hour, minute, tzinfo=BERLIN)
    for month, day in ((2, 3), (3, 28), (3, 29), (9, 22), (11, 24))
    for hour, minute in ((8, 30), (16, 45))
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", [*KINDS, *TEXT_VARIANTS, *REPLY_KEYS])
def test_every_template_renders_within_two_segments(language: str, key: str) -> None:
    worst = 0
    has_values = key not in REPLY_KEYS
    for partner in PARTNER_NAMES if has_values else PARTNER_NAMES[:1]:
        for place in PLACES if has_values else PLACES[:1]:
            for moment in MOMENTS:
                rendered = render(key, language, Values("K7P3-Q9XA", partner, place, moment))
                assert "{" not in rendered.body, rendered.body
                assert rendered.segments == count_segments(rendered.body).segments
                worst = max(worst, rendered.segments)
    assert worst <= 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_full_text_is_used_when_it_fits(language: str) -> None:
    short = render(REMINDER, language, Values("K7P3-Q9XA", "VIA Bayern", "Landwehrstraße 22", START))
    assert "VIA Bayern" in short.body and "Landwehrstraße 22" in short.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_text_with_its_placeholders(language: str) -> None:
    texts = templates(language)
    assert set(texts) == set(KINDS) | set(TEXT_VARIANTS) | set(REPLY_KEYS)
    full = texts
    assert "{reference}" in full["intake_received"][0] and "{partner}" in full["intake_received"][0]
    assert "{partner}" in full["case_transferred"][0]
    for kind in ("appointment_booked", "appointment_changed", "reminder"):
        assert {"{date}", "{time}", "{partner}", "{place}"} <= set(re.findall(r"\{\w+\}", full[kind][0]))
    assert "{reference}" in full["appointment_booked"][0]
    for cancelled in ("appointment_cancelled", CANCELLED_BY_CLOSE):
        assert {"{date}", "{time}", "{partner}"} <= set(re.findall(r"\{\w+\}", full[cancelled][0]))
    # Closed with the case, the cancellation promises no contact: shorter than the plain one, same start.
    assert full["appointment_cancelled"][0].startswith(full[CANCELLED_BY_CLOSE][0][:-1])


def first_strong_direction(text: str) -> str:
    """What a phone lays a message out by (Unicode's first-strong rule): L, R or AL."""
    for char in text:
        if unicodedata.bidirectional(char) in ("L", "R", "AL"):
            return unicodedata.bidirectional(char)
    return ""


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_arabic_and_farsi_sms_read_right_to_left_though_they_begin_with_migranet(language: str) -> None:
    """Beginning with the Latin "MigraNet:", the bubble was laid out left to right: reference, date and place
    came out in the wrong order. A right-to-left mark first sets the direction."""
    for key, variants in templates(language).items():
        for variant in variants:
            assert first_strong_direction(variant) in ("R", "AL"), (key, variant[:30])


@pytest.mark.parametrize("language", LANGUAGES)
def test_reminders_ask_for_1_or_2(language: str) -> None:
    for variant in templates(language)[REMINDER]:
        assert re.search(r"\b1\b", variant) and re.search(r"\b2\b", variant)


def test_no_placeholder_translation_is_left() -> None:
    for path in TEMPLATE_DIR.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "TODO" not in text and "FIXME" not in text and "XXX" not in text
    assert sorted(p.stem for p in TEMPLATE_DIR.glob("*.json")) == sorted(LANGUAGES)


def test_non_latin_languages_are_written_in_their_script() -> None:
    assert re.search("[а-яё]", templates("ru")[REMINDER][0])
    assert re.search("[іїєґ]", templates("uk")[REMINDER][0])  # Ukrainian, not Russian
    assert re.search("[\u0600-\u06ff]", templates("ar")[REMINDER][0])
    assert re.search("[پچژگ]", " ".join(v[0] for v in templates("fa").values()))  # Persian letters


def test_an_unknown_language_falls_back_to_german() -> None:
    assert render("reply_help", "xx", Values()).body == render("reply_help", "de", Values()).body


def test_ids_are_stable_per_intent_and_phone_hashes_need_the_key() -> None:
    assert message_id("case-1", "intake_received") == message_id("case-1", "intake_received")
    assert message_id("case-1", "intake_received") != message_id("case-2", "intake_received")
    assert phone_hash("+4915112345678", "k1") != phone_hash("+4915112345678", "k2")
    assert "15112345678" not in phone_hash("+4915112345678", "k1")


# A Teams meeting link (~200 characters) and a long room description: no variant fits 2 segments
# in a UCS-2 language, and the applicant must still learn where to go.
TEAMS_LINK = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ5ZTk2YjEtMzE4Ny00YjQ3LWJmNDQtOGUyZWNlYzU3"
    "NGI2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf%22%2c%22Oid%22%3a%22a1b2c3d4%22%7d"
)
LONG_ROOM = (
    "LMU Klinikum Campus Großhadern, Marchioninistraße 15, 81377 München, Haupteingang, Bauteil C, "
    "Ebene 2, Raum C2.117 (Anerkennungsberatung Gesundheitsberufe), bitte an der Information melden"
)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", ["appointment_booked", "appointment_changed", REMINDER])
@pytest.mark.parametrize("place", [TEAMS_LINK, LONG_ROOM])
def test_a_place_too_long_for_two_segments_is_kept_whole(language: str, key: str, place: str) -> None:
    rendered = render(key, language, Values("K7P3-Q9XA", "LMU Klinikum", place, START))
    assert place in rendered.body
    with_place = [v for v in templates(language)[key] if "{place}" in v]
    filled = Values("K7P3-Q9XA", "LMU Klinikum", place, START).for_language(language)
    fewest = min(count_segments(v.format(**filled)).segments for v in with_place)
    assert rendered.segments == fewest <= 10  # the shortest text that keeps it, within Twilio's 1,600 characters
