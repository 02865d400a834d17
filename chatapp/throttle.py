"""Failed logins counted per username and per address, in memory or in Redis."""

import math
import time
from dataclasses import dataclass

import limits
from flask import current_app
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass
class _Limits:
    limiter: MovingWindowRateLimiter
    per_username: limits.RateLimitItem
    per_address: limits.RateLimitItem


class LoginThrottle:
    """Refuses further password attempts once too many have failed."""

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and limits."""
        storage = storage_from_string(app.config["REDIS_URL"] or "memory://")
        app.extensions["login_throttle"] = _Limits(
            limiter=MovingWindowRateLimiter(storage),
            per_username=limits.parse(app.config["LOGIN_FAILURE_LIMIT_PER_USERNAME"]),
            per_address=limits.parse(app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"]),
        )

    def retry_after(self, username_key, address):
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        state = self._state()
        return max(
            _seconds_until_free(state.limiter, state.per_username, "user", username_key),
            _seconds_until_free(state.limiter, state.per_address, "addr", address),
        )

    def record_failure(self, username_key, address):
        """Count one failed attempt against both the name and the address."""
        state = self._state()
        state.limiter.hit(state.per_username, "user", username_key)
        state.limiter.hit(state.per_address, "addr", address)

    def forget_failures(self, username_key):
        """After a successful login the name starts afresh; the address does not."""
        state = self._state()
        state.limiter.clear(state.per_username, "user", username_key)

    @staticmethod
    def _state():
        return current_app.extensions["login_throttle"]


def _seconds_until_free(limiter, item, *identifiers):
    if limiter.test(item, *identifiers):
        return 0
    reset_time = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_time - time.time()))
