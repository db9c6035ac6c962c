"""The loopback stack for the reliability suite lives in tests/live.py (shared with browser tests)."""

from tests.live import LiveApp as LiveStack
from tests.live import free_port
from tests.live import live_app as live_stack

__all__ = ["LiveStack", "free_port", "live_stack"]
