"""The cyclic garbage collector during a cold start: paused until the first event is handled.

A cold start allocates hundreds of thousands of long-lived objects (modules, classes, botocore's
service models, compiled regular expressions) and almost no garbage cycles, yet CPython runs full
collections over that growing heap all along: ~40 ms of a ~300 ms cold start here (bench section
3). The pause ends after the function's first event with `gc.freeze()`, which moves everything
that exists then to the permanent generation, so later collections do not scan it again either
(the use the Python documentation gives for it). Reference counting frees non-cyclic garbage
throughout; only cycles wait, and only until the end of the first event.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, TypeVar

Event = TypeVar("Event")
_paused = False


def pause_collection() -> None:
    """Called once, where the handler module is imported (app.py)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """After the first event: freeze what the start built, collect as usual from then on."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def resume_after_first_event(event: Event, get_response: Callable[[Event], Any]) -> Any:
    """Chalice middleware for every kind of event (HTTP, schedules, invokes)."""
    try:
        return get_response(event)
    finally:
        resume_collection()
