"""Free text as people type or paste it, cleaned of what only machines put there. No I/O."""

from __future__ import annotations

import re

# C0 and C1 control characters (Unicode category Cc). Format characters (Cf) are left alone:
# zero-width joiners and direction marks are part of how Persian and Arabic names are written.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and line feed
# Characters that show nothing by themselves (zero-width, direction marks, fillers, variation
# selectors): the set the schemas' "at least one visible character" pattern excludes, besides blanks.
INVISIBLE = re.compile(
    "[\ufeff\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180d\u2800\u3164\ufe00-\ufe0f\uffa0]"
)


# Bidi embeddings, overrides and isolates: no one types them into a name, and an override turns
# the text after it around on every screen it reaches ("Trojan Source"); the marks (LRM/RLM) stay.
BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """A name, title or place: control characters (a pasted tab or line break, a NUL from a broken
    client) become one space; they would break SMS, exports and calendar files downstream."""
    return CONTROL.sub(" ", BIDI_CONTROL.sub("", text)).strip()


def multi_line(text: str) -> str:
    """A message or note: its line breaks (as \\n) and tabs stay, other control characters go."""
    return CONTROL_IN_TEXT.sub("", BIDI_CONTROL.sub("", text.replace("\r\n", "\n"))).strip()


def visible_length(text: str) -> int:
    """Characters a reader sees, blanks inside included: "a b" is 3, twelve zero-width spaces 0."""
    return len(INVISIBLE.sub("", text).strip())
