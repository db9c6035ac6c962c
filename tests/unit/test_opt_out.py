"""Inbound SMS words: opt-out (Twilio's words + STOPP/ABMELDEN), opt-in, help, answers 1/2."""

from __future__ import annotations

import pytest

from chalicelib.domain.opt_out import COMING, HELP, NOT_COMING, OPT_IN, OPT_OUT, OTHER, classify


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "Stop.",
        " stop please",
        "STOP!!!",
        "StopAll",
        "UNSUBSCRIBE",
        "cancel",
        "End",
        "quit",
        "STOPP",
        "Abmelden",
        "bitte abmelden",
        "please stop",
        "stop 🙏",
    ],
)
def test_opt_out_words_in_any_case_and_with_punctuation(body: str) -> None:
    assert classify(body).kind == OPT_OUT


def test_cancel_is_an_opt_out_that_staff_must_hear_about() -> None:
    assert classify("Cancel").is_cancel
    assert not classify("STOP").is_cancel


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("1", COMING),
        (" 1. ", COMING),
        ("1 danke", COMING),
        ("ja", COMING),
        ("JA!", COMING),
        ("١", COMING),  # Arabic-Indic digit one
        ("۲", NOT_COMING),  # Persian digit two
        ("2", NOT_COMING),
        ("nein", NOT_COMING),
        ("2 - leider krank", NOT_COMING),
    ],
)
def test_answers_to_reminders(body: str, kind: str) -> None:
    assert classify(body).kind == kind


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "anmelden"])
def test_opt_in_words(body: str) -> None:
    assert classify(body, opted_out=True).kind == OPT_IN


@pytest.mark.parametrize("body", ["HELP", "hilfe", "Info?"])
def test_help_words(body: str) -> None:
    assert classify(body).kind == HELP


@pytest.mark.parametrize("body", ["No", "No problem, see you", "no, będę"])
def test_no_is_not_an_answer(body: str) -> None:
    """English "No problem" and Polish "no" (yes, sure) would flag a case and tell the applicant a
    new appointment is coming; the reply for OTHER asks for 1 or 2 instead."""
    assert classify(body).kind == OTHER


def test_yes_is_twilios_opt_in_word_not_an_answer() -> None:
    assert classify("YES", opted_out=True).kind == OPT_IN
    assert classify("yes").kind == OTHER  # ambiguous: the reminder asks for 1 or 2


@pytest.mark.parametrize("body", ["", "   ", "?", "Wann ist mein Termin?", "12", "I will stop by at 3"])
def test_other_text_is_not_a_command(body: str) -> None:
    assert classify(body).kind == OTHER
