"""Free text as people type or paste it, cleaned of what only machines put there. No I/O."""

from __future__ import annotations

import re

# C0 and C1 control characters (Unicode category Cc). Format characters (Cf) are left alone:
# zero-width joiners and direction marks are part of how Persian and Arabic names are written.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and line feed


def one_line(text: str) -> str:
    """A name, title or place: control characters (a pasted tab or line break, a NUL from a broken
    client) become one space; they would break SMS, exports and calendar files downstream."""
    return CONTROL.sub(" ", text).strip()


def multi_line(text: str) -> str:
    """A message or note: its line breaks (as \\n) and tabs stay, other control characters go."""
    return CONTROL_IN_TEXT.sub("", text.replace("\r\n", "\n")).strip()
