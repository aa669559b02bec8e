"""Per-key rate limits: a token bucket per API key, answered with 429 and Retry-After.

Buckets live in the process, so with N API copies a key gets up to N times the rate; put the
limit at the load balancer too if that matters."""

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def wait_needed(self, key_id: int) -> float:
        """0 if the request may go now (and counts it), else seconds until it may."""
        if self.per_second <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / self.per_second


def retry_after_header(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}
