"""The loopback stack for the reliability suite lives in tests/live.py (shared with browser tests)."""

from tests.live import LiveApp as LiveStack
from tests.live import api_environment, free_port, moto_server
from tests.live import live_app as live_stack

__all__ = ["LiveStack", "api_environment", "free_port", "live_stack", "moto_server"]
