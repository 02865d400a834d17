"""Work kept off the caller's way: CPU-heavy calls in gevent's thread pool, background work
started without switching to it, and work that waits for an idle loop."""

import sys
import threading
import time

# What a thread waits in wait_until_idle.
IDLE_THREAD_SECONDS = 0.001


def off_the_loop(function, *args):
    """Call function(*args) in gevent's thread pool when serving under gevent, else here."""
    gevent = serving_gevent()
    if gevent is None:
        return function(*args)
    # A password hash takes over 100 ms of CPU; on the loop every socket would wait for it.
    return gevent.get_hub().threadpool.apply(function, args)


def start(action, *args):
    """Run action(*args) in a greenlet (under gevent) or a thread of its own, later.

    Starting a patched thread waits for it to start, which lets every other greenlet run
    first: a caller in the middle of a send, or of a transaction, must not be paused.
    """
    gevent = serving_gevent()
    if gevent is None:
        threading.Thread(target=action, args=args, daemon=True).start()
    else:
        gevent.spawn(action, *args)


def call_later(seconds, action):
    """Call action() after seconds, without pausing the caller now."""
    gevent = serving_gevent()
    if gevent is None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        timer.start()
    else:
        gevent.spawn_later(seconds, action)


def wait_until_idle(longest):
    """Wait until no greenlet or socket is ready to run (under gevent), at most longest s."""
    gevent = serving_gevent()
    if gevent is None:
        # Threads are preempted: others run whether this one waits or not.
        time.sleep(min(longest, IDLE_THREAD_SECONDS))
        return
    with gevent.Timeout(longest, False):
        gevent.idle()


def start_system_thread(action, *args):
    """Run action(*args) in a thread of the system's own, beside gevent's loop if any."""
    # For blocking calls that let go of the interpreter lock. Such a thread must not touch
    # what gevent patched (locks, sleep, sockets): those belong to the loop's thread.
    gevent = serving_gevent()
    if gevent is None:
        threading.Thread(target=action, args=args, daemon=True).start()
    else:
        gevent.monkey.get_original("_thread", "start_new_thread")(action, args)


def unpatched_sleep():
    """time.sleep as it was before gevent patched it, for a thread of the system's."""
    gevent = serving_gevent()
    return time.sleep if gevent is None else gevent.monkey.get_original("time", "sleep")


def serving_gevent():
    """The gevent module when threading is patched by it (as under gunicorn), else None."""
    gevent = sys.modules.get("gevent")
    if gevent is None or not gevent.monkey.is_module_patched("threading"):
        return None
    return gevent
