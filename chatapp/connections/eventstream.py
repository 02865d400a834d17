"""Each user's Server-Sent Events stream: what changed elsewhere, as out-of-band HTML.

A stream subscribes before it draws its first snapshot, so that nothing published
meanwhile is lost; it holds no database connection while it waits, sends a keep-alive
comment when quiet, and lets go of its channels and of the user's presence when the
browser leaves.
"""

import functools
import itertools
import re

from flask import copy_current_request_context, current_app, render_template

from chatapp import notify, reading
from chatapp.bookkeeping import get_bookkeeper
from chatapp.extensions import db
from chatapp.live.broker import (
    SITE_CHANNEL,
    Close,
    Frame,
    Inbox,
    get_broker,
    stream_channel,
    user_channel,
)
from chatapp.live.presence import SITE, get_presence

_event_ids = itertools.count(1)
# What EventSource takes for the end of a line: a lone \r would otherwise start a field.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class EventStream:
    """One open stream of one login session of a user."""

    def __init__(self, user_id, session_id, reconnected):
        self.user_id = user_id
        self.session_id = session_id
        self.channels = (user_channel(user_id), stream_channel(user_id), SITE_CHANNEL)
        self.inbox = Inbox()
        get_broker().subscribe(self.inbox, self.channels)
        get_bookkeeper().stream_opened(user_id)
        if get_presence().arrive(SITE, user_id).is_new:
            notify.came_online(user_id)
        self.first = snapshot(user_id, reconnected)
        self.gone_offline = copy_current_request_context(
            functools.partial(announce_offline, user_id)
        )
        self.keepalive = current_app.config["EVENTS_KEEPALIVE_SECONDS"]
        # Streaming holds no database connection: the view's session ends here.
        db.session.remove()

    def events(self):
        """The stream's text: the snapshot, then each event as it is published."""
        try:
            yield self.first
            while True:
                item = self.inbox.get(timeout=self.keepalive)
                if self.inbox.overflowed:
                    # Too far behind to trust what is queued: draw everything afresh.
                    self.inbox.catch_up()
                    yield snapshot(self.user_id, reconnected=True)
                    db.session.remove()
                if item is None:
                    yield ": keepalive\n\n"
                elif isinstance(item, Frame) and item.is_for(self.user_id):
                    yield event(item.html, item.event)
                elif isinstance(item, Close) and item.applies_to(None, self.session_id):
                    return
        finally:
            get_broker().unsubscribe(self.inbox, self.channels)
            get_presence().depart(SITE, self.user_id, self.gone_offline)


def snapshot(user_id, reconnected):
    """The counts every page shows, and after a reconnect, a nudge to every list to reload."""
    html = "".join(
        [
            render_template(
                "partials/_invitation_badge.html", count=notify.pending_count(user_id), oob=True
            ),
            render_template(
                "partials/_unread_total.html", count=reading.total_unread(user_id), oob=True
            ),
            notify.render_online(),
        ]
    )
    first = event(html)
    if reconnected:
        first += event(notify.CHANGED, "rooms") + event(notify.CHANGED, "invitations")
    return first


def event(data, name="update"):
    """One Server-Sent Event with an id; every line of data is prefixed as the format asks."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {name}\nid: {next(_event_ids)}\n{lines}\n"


def announce_offline(user_id):
    """Once the user's last stream has been gone for the grace, mark them offline."""
    notify.went_offline(user_id)
    db.session.remove()
