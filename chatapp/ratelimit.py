"""Rate limits in one notation ("10/10s", "5/5m", "100/h" or "off"), kept by `limits`.

Counts live in memory, or in Redis when REDIS_URL is set, so that every process of a
site shares them.
"""

import math
import re
import time
from typing import NamedTuple

import limits
from flask import current_app
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(s|m|h)\s*")
_UNITS = {"s": "second", "m": "minute", "h": "hour"}


def parse_rate(text, setting="a rate limit"):
    """Read "10/10s" (ten per ten seconds) as a rate limit; "off" means None."""
    if str(text).strip().lower() == "off":
        return None
    match = _RATE.fullmatch(str(text))
    if match is None:
        examples = '"10/10s", "5/5m" or "100/h"'
        raise ValueError(f'{setting} must look like {examples}, or be "off", not {text!r}')
    count, length, unit = match.groups()
    return limits.parse(f"{count} per {length or 1} {_UNITS[unit]}")


def storage_for(app):
    """Where counts are kept: the app's Redis when configured, else this process's memory."""
    return storage_from_string(app.config["REDIS_URL"] or "memory://")


def seconds_until_reset(limiter, item, *identifiers):
    """Whole seconds until a limit that was reached lets the next one through; at least 1."""
    reset_time = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_time - time.time()))


class Pace:
    """Lets work through at a rate, and has whoever comes faster wait for their turn."""

    def __init__(self, rate, setting="a rate limit"):
        self._item = parse_rate(rate, setting)
        self._limiter = MovingWindowRateLimiter(storage_from_string("memory://"))

    def wait_turn(self, key):
        """Return once the key may go on, waiting first when it came too fast."""
        if self._item is None:
            return
        while not self._limiter.hit(self._item, key):
            time.sleep(seconds_until_reset(self._limiter, self._item, key))


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
        item = parse_rate(app.config["API_RATE_LIMIT"], "API_RATE_LIMIT")
        limiter = MovingWindowRateLimiter(storage_for(app)) if item is not None else None
        app.extensions["api_rate_limit"] = (limiter, item)

    def hit(self, caller):
        """Count one request of the caller ("token:12", "address:127.0.0.1")."""
        limiter, item = current_app.extensions["api_rate_limit"]
        if limiter is None:
            return Quota(True, 0, 0, 0)
        allowed = limiter.hit(item, "api", caller)
        stats = limiter.get_window_stats(item, "api", caller)
        return Quota(allowed, item.amount, stats.remaining, math.ceil(stats.reset_time))
