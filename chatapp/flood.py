"""Flood control: messages per user and room in a moving window, in memory or Redis."""

import math
import re
import time

import limits
from flask import current_app
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_FLOOD_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(s|m|h)\s*")
_UNITS = {"s": "second", "m": "minute", "h": "hour"}


def parse_flood_limit(text):
    """Read "10/10s" (ten per ten seconds) as a rate limit; "off" means None."""
    if str(text).strip().lower() == "off":
        return None
    match = _FLOOD_LIMIT.fullmatch(str(text))
    if match is None:
        raise ValueError(f'FLOOD_LIMIT must look like "10/10s" or be "off", not {text!r}')
    count, length, unit = match.groups()
    return limits.parse(f"{count} per {length or 1} {_UNITS[unit]}")


class FloodControl:
    """Refuses a user's messages in a room once they come too fast."""

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and limit."""
        item = parse_flood_limit(app.config["FLOOD_LIMIT"])
        limiter = None
        if item is not None:
            limiter = MovingWindowRateLimiter(
                storage_from_string(app.config["REDIS_URL"] or "memory://")
            )
        app.extensions["flood_control"] = (limiter, item)

    def retry_after(self, room_id, user_id):
        """Count one message and return 0, or the seconds to wait when it is one too many."""
        limiter, item = current_app.extensions["flood_control"]
        if limiter is None or limiter.hit(item, "room", str(room_id), str(user_id)):
            return 0
        return _seconds_until_free(limiter, item, room_id, user_id)

    def wait_seconds(self, room_id, user_id):
        """The seconds until the user may send in the room again, without counting anything."""
        limiter, item = current_app.extensions["flood_control"]
        if limiter is None or limiter.test(item, "room", str(room_id), str(user_id)):
            return 0
        return _seconds_until_free(limiter, item, room_id, user_id)


def _seconds_until_free(limiter, item, room_id, user_id):
    reset_time = limiter.get_window_stats(item, "room", str(room_id), str(user_id)).reset_time
    return max(1, math.ceil(reset_time - time.time()))
