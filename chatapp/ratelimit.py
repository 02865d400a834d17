"""Requests to the JSON API per token (or per address without one), in memory or Redis."""

import math
import time
from typing import NamedTuple

import limits
from flask import current_app
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class Quota(NamedTuple):
    """Where a caller stands after one more request: allowed or not, and what is left."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix time at which a request is free again

    def headers(self):
        """The X-RateLimit-* headers that tell a program where it stands."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    def retry_after(self):
        """Whole seconds until the next request is allowed."""
        return max(1, self.reset_at - math.ceil(time.time()))


class ApiRateLimit:
    """Counts every API request against its caller's limit (API_RATE_LIMIT)."""

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and limit."""
        storage = storage_from_string(app.config["REDIS_URL"] or "memory://")
        app.extensions["api_rate_limit"] = (
            MovingWindowRateLimiter(storage),
            limits.parse(app.config["API_RATE_LIMIT"]),
        )

    def hit(self, caller):
        """Count one request of the caller ("token:12", "address:127.0.0.1")."""
        limiter, item = current_app.extensions["api_rate_limit"]
        allowed = limiter.hit(item, "api", caller)
        stats = limiter.get_window_stats(item, "api", caller)
        return Quota(allowed, item.amount, stats.remaining, math.ceil(stats.reset_time))
