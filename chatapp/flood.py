"""Flood control: messages per user and room in a moving window, in memory or Redis."""

from flask import current_app
from limits.strategies import MovingWindowRateLimiter

from chatapp.ratelimit import parse_rate, seconds_until_reset, storage_for


def parse_flood_limit(text):
    """Read FLOOD_LIMIT, "10/10s" (ten per ten seconds) or "off", as a rate limit or None."""
    return parse_rate(text, "FLOOD_LIMIT")


class FloodControl:
    """Refuses a user's messages in a room once they come too fast."""

    def init_app(self, app):
        """Bind to the app's storage (Redis when configured) and limit."""
        item = parse_flood_limit(app.config["FLOOD_LIMIT"])
        limiter = MovingWindowRateLimiter(storage_for(app)) if item is not None else None
        app.extensions["flood_control"] = (limiter, item)

    def retry_after(self, room_id, user_id):
        """Count one message and return 0, or the seconds to wait when it is one too many."""
        limiter, item = current_app.extensions["flood_control"]
        if limiter is None or limiter.hit(item, "room", str(room_id), str(user_id)):
            return 0
        return seconds_until_reset(limiter, item, "room", str(room_id), str(user_id))

    def wait_seconds(self, room_id, user_id):
        """The seconds until the user may send in the room again, without counting anything."""
        limiter, item = current_app.extensions["flood_control"]
        if limiter is None or limiter.test(item, "room", str(room_id), str(user_id)):
            return 0
        return seconds_until_reset(limiter, item, "room", str(room_id), str(user_id))
