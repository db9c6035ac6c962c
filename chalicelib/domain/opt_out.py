"""What an inbound SMS means: opt-out, opt-in, help, or an answer to a reminder.

Twilio's own opt-out words (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) plus the
German STOPP and ABMELDEN. Matching ignores case and punctuation and reads the first
word ("Stop." and "stop please" opt out), or any word of a short message ("bitte abmelden").
Answers to reminders are digits, which work on every keyboard and collide with no
carrier keyword; JA/NEIN are accepted too. NO is not: "No problem, see you" is no "2", and
in Polish, one of the applicants' languages, "no" means "yes, sure". YES is Twilio's opt-in
word, so it means START for an opted-out number and is otherwise not taken as an answer
(either gets the reply that asks for 1 or 2).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPP", "ABMELDEN"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "ANMELDEN"})
HELP_WORDS = frozenset({"HELP", "HILFE", "INFO"})
COMING_WORDS = frozenset({"1", "JA"})
NOT_COMING_WORDS = frozenset({"2", "NEIN"})
SHORT_MESSAGE_WORDS = 3

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"
COMING = "coming"
NOT_COMING = "not_coming"
OTHER = "other"


@dataclass(frozen=True)
class Intent:
    kind: str
    keyword: str | None = None

    @property
    def is_cancel(self) -> bool:
        """CANCEL opts out at Twilio whatever we do, but the person may mean the appointment."""
        return self.kind == OPT_OUT and self.keyword == "CANCEL"


def words(body: str) -> list[str]:
    """Upper-case words with punctuation and symbols dropped; any script's digits become 0-9."""
    cleaned = []
    for ch in unicodedata.normalize("NFKC", body):
        if ch.isdigit() and unicodedata.digit(ch, None) is not None:
            cleaned.append(str(unicodedata.digit(ch)))
        elif ch.isalnum():
            cleaned.append(ch)
        else:
            cleaned.append(" ")
    return "".join(cleaned).upper().split()


def classify(body: str, opted_out: bool = False) -> Intent:
    found = words(body)
    if not found:
        return Intent(OTHER)
    first = found[0]
    short = len(found) <= SHORT_MESSAGE_WORDS
    for group, kind in ((STOP_WORDS, OPT_OUT), (START_WORDS, OPT_IN), (HELP_WORDS, HELP)):
        hit = first if first in group else next((w for w in found if w in group), None) if short else None
        if hit is None:
            continue
        if hit == "YES" and not opted_out:
            continue  # not an answer to a reminder (ambiguous), and opting in is moot
        return Intent(kind, hit)
    if first in COMING_WORDS:
        return Intent(COMING, first)
    if first in NOT_COMING_WORDS:
        return Intent(NOT_COMING, first)
    return Intent(OTHER)
