"""CPU-heavy calls kept off the gevent loop, so that sockets are not stalled by them."""

import sys


def off_the_loop(function, *args):
    """Call function(*args) in gevent's thread pool when serving under gevent, else here."""
    gevent = sys.modules.get("gevent")
    if gevent is None or not gevent.monkey.is_module_patched("threading"):
        return function(*args)
    # A password hash takes over 100 ms of CPU; on the loop every socket would wait for it.
    return gevent.get_hub().threadpool.apply(function, args)
