"""When to try an event again: capped exponential backoff with full jitter."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base: float
    cap: float

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempts` failed tries; never less than `retry_after`."""
        ceiling = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        wait = random.uniform(ceiling / 2, ceiling)
        return max(wait, retry_after or 0.0)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
