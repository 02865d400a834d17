"""Rate limits in one notation ("10/10s", "5/5m", "100/h" or "off"), kept by `limits`.

Counts live in memory, or in Redis when REDIS_URL is set, so that every process of a
site shares them.
"""

import math
import re
import time

import limits
from limits.storage import storage_from_string

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
