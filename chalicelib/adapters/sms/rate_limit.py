"""A token bucket for Twilio's sender limit (segments per second); sleeps through an injected sleeper."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, bursts up to `capacity`; one token per SMS segment.

    Shared by overlapping sweeper threads in one process, hence the lock.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self._monotonic = monotonic
        self._sleeper = sleeper
        self._tokens = self.capacity
        self._stamp = monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self, tokens: float) -> float:
        """Block until `tokens` are available; return the seconds slept."""
        tokens = min(tokens, self.capacity)  # a message longer than a burst still goes, just slowly
        slept = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens + 1e-9 >= tokens:  # float dust must not leave a caller waiting for 1e-17 s forever
                    self._tokens = max(0.0, self._tokens - tokens)
                    return slept
                wait = (tokens - self._tokens) / self.rate
            self._sleeper(wait)
            slept += wait
