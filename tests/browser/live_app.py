"""The loopback stack for browser tests lives in tests/live.py (shared with the reliability suite)."""

from tests.live import LiveApp, live_app

__all__ = ["LiveApp", "live_app"]
