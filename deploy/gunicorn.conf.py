"""Gunicorn settings for chatapp: `gunicorn --config deploy/gunicorn.conf.py wsgi:app`."""

import os

# Refuses, before any worker forks, more than one worker without Redis or on SQLite.
from deploy.preflight import on_starting  # noqa: F401  (a gunicorn hook, by its name)

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# gevent: each WebSocket and event stream is a cheap greenlet, not a thread.
worker_class = "gevent"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))

# The in-process broker lives in one process, so one worker unless Redis is configured.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))

# Never preload: gevent and background listener threads do not survive fork.
preload_app = False
graceful_timeout = 10
timeout = 30
accesslog = "-"
errorlog = "-"

# The control socket defaults to one fixed path per user, which two servers on one
# machine would fight over; chatapp does not use it.
control_socket_disable = True


def post_worker_init(worker):
    """Keep the loaded app out of full collections; on SIGTERM, close every socket with 1012
    first, so browsers reconnect to the next process."""
    import signal

    from chatapp.connections import closing

    _freeze_what_is_loaded()
    if "broker" not in getattr(worker.wsgi, "extensions", {}):
        return  # not chatapp (the benchmarks' reference app): no sockets of ours to close
    stop = worker.handle_exit

    def close_sockets_then_stop(signum, frame):
        closing.shut_down(worker.wsgi)
        stop(signum, frame)

    signal.signal(signal.SIGTERM, close_sockets_then_stop)


def _freeze_what_is_loaded():
    """Leave everything loaded so far out of the garbage collector's passes from now on."""
    import gc

    # What the worker has loaded (over 100,000 objects) lives as long as it does. Under
    # load, a full collection that still visited it all paused every socket for 63-81 ms;
    # it now visits what came since. The garbage of loading goes first, or it stays.
    gc.collect()
    gc.freeze()
