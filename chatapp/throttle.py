"""Failed logins counted per username and per address, in memory or in Redis."""

import math
import time

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LoginThrottle:
    """Refuses further password attempts once too many have failed."""

    def __init__(self):
        self._limiter = None
        self._per_username = None
        self._per_address = None

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and limits."""
        storage = storage_from_string(app.config["REDIS_URL"] or "memory://")
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_username = limits.parse(app.config["LOGIN_FAILURE_LIMIT_PER_USERNAME"])
        self._per_address = limits.parse(app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"])

    def retry_after(self, username_key, address):
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        waits = [
            self._seconds_until_free(self._per_username, "user", username_key),
            self._seconds_until_free(self._per_address, "addr", address),
        ]
        return max(waits)

    def record_failure(self, username_key, address):
        """Count one failed attempt against both the name and the address."""
        self._limiter.hit(self._per_username, "user", username_key)
        self._limiter.hit(self._per_address, "addr", address)

    def forget_failures(self, username_key):
        """After a successful login the name starts afresh; the address does not."""
        self._limiter.clear(self._per_username, "user", username_key)

    def _seconds_until_free(self, item, *identifiers):
        if self._limiter.test(item, *identifiers):
            return 0
        reset_time = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset_time - time.time()))
