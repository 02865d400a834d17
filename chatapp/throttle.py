"""Costly attempts counted before they are made: password guesses, sign-ups, avatar uploads.

Counts live in memory, or in Redis when configured, so that every process shares them.
"""

from flask import current_app
from limits.strategies import FixedWindowRateLimiter

from chatapp.ratelimit import parse_rate, seconds_until_reset, storage_for

# Each counter and the setting that holds its limit.
SETTINGS = {
    "login_name_address": "LOGIN_FAILURE_LIMIT_PER_USERNAME_AND_ADDRESS",
    "login_address": "LOGIN_FAILURE_LIMIT_PER_ADDRESS",
    "login_name": "LOGIN_FAILURE_LIMIT_PER_USERNAME",
    "signup_address": "SIGNUP_LIMIT_PER_ADDRESS",
    "avatar_user": "AVATAR_UPLOAD_LIMIT_PER_USER",
}


class Throttle:
    """Counts each attempt before it is made, and refuses the ones over a limit."""

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and read every limit."""
        items = {name: parse_rate(app.config[key], key) for name, key in SETTINGS.items()}
        app.extensions["throttle"] = (FixedWindowRateLimiter(storage_for(app)), items)

    def login_attempt(self, username_key, address):
        """Count a password attempt before it is checked: 0, or the seconds to wait."""
        return self._attempt(_login_counters(username_key, address))

    def login_succeeded(self, username_key, address):
        """A right password is no failure: give its counts back, and clear that name there."""
        limiter, items = _state()
        (first, key), *others = _login_counters(username_key, address)
        for name, other_key in others:
            _give_back(limiter, items[name], other_key)
        if items[first] is not None:
            limiter.clear(items[first], *key)

    def signup_attempt(self, address):
        """Count a sign-up from this address: 0, or the seconds to wait."""
        return self._attempt([("signup_address", ("signup", address))])

    def avatar_upload(self, user_id):
        """Count an avatar upload by this user: 0, or the seconds to wait."""
        return self._attempt([("avatar_user", ("avatar", str(user_id)))])

    @staticmethod
    def _attempt(counters):
        """Hit every counter; when one is over, give the others back and say how long to wait."""
        limiter, items = _state()
        # hit() counts and compares in one step (a lock in memory, a script in Redis), so
        # attempts made at the same instant are each counted before any is let through.
        results = [(items[name], key) for name, key in counters if items[name] is not None]
        passed, over = [], []
        for item, key in results:
            (passed if limiter.hit(item, *key) else over).append((item, key))
        if not over:
            return 0
        for item, key in passed:
            _give_back(limiter, item, key)
        return max(seconds_until_reset(limiter, item, *key) for item, key in over)


def _login_counters(username_key, address):
    """The counters of a password attempt: name and address first, the one a success clears."""
    return [
        ("login_name_address", ("login", username_key, address)),
        ("login_address", ("login-address", address)),
        ("login_name", ("login-name", username_key)),
    ]


def _give_back(limiter, item, key):
    """Take back one counted attempt, in memory or in Redis."""
    if item is not None:
        limiter.storage.incr(item.key_for(*key), item.get_expiry(), amount=-1)


def _state():
    return current_app.extensions["throttle"]
