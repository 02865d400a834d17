"""Each user's Server-Sent Events stream: what changed elsewhere, as out-of-band HTML."""

import itertools
import re

from flask import (
    Blueprint,
    Response,
    abort,
    copy_current_request_context,
    current_app,
    render_template,
    request,
    session,
    stream_with_context,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from chatapp import notify, reading
from chatapp.broker import (
    SITE_CHANNEL,
    Close,
    Frame,
    get_broker,
    stream_channel,
    user_channel,
)
from chatapp.extensions import db
from chatapp.origins import is_allowed_origin
from chatapp.presence import SITE, get_presence

bp = Blueprint("events", __name__, url_prefix="/chat")

_event_ids = itertools.count(1)
# What EventSource takes for the end of a line: a lone \r would otherwise start a field.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@bp.get("/events")
@login_required
def stream():
    """My live notifications; a reconnect starts with a fresh snapshot of what they show."""
    if not is_allowed_origin(request):
        abort(403, "This site does not accept event streams opened from that origin.")
    user_id, session_id = current_user.id, session.get("sid")
    keepalive = current_app.config["EVENTS_KEEPALIVE_SECONDS"]
    channels = [user_channel(user_id), stream_channel(user_id), SITE_CHANNEL]
    inbox = get_broker().subscribe(channels)
    arrival = get_presence().arrive(SITE, user_id)
    if arrival.is_new:
        notify.online_changed()
    first = snapshot(user_id, reconnected="Last-Event-ID" in request.headers)
    gone_offline = copy_current_request_context(announce_offline)
    # Streaming holds no database connection: the view's session ends here.
    db.session.remove()

    def events():
        try:
            yield first
            while True:
                item = inbox.get(timeout=keepalive)
                if inbox.overflowed:
                    # Too far behind to trust what is queued: draw everything afresh.
                    inbox.catch_up()
                    yield snapshot(user_id, reconnected=True)
                    db.session.remove()
                if item is None:
                    yield ": keepalive\n\n"
                elif isinstance(item, Frame) and item.is_for(user_id):
                    yield event(item.html, item.event)
                elif isinstance(item, Close) and item.applies_to(None, session_id):
                    return
        finally:
            get_broker().unsubscribe(inbox)
            get_presence().depart(SITE, user_id, gone_offline)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(events()), mimetype="text/event-stream", headers=headers)


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


def announce_offline():
    """Once the user's last stream has been gone for the grace, mark them offline."""
    notify.online_changed()
    db.session.remove()


@bp.app_context_processor
def live_counts():
    """Counts that the navigation of every page shows, computed only when drawn."""
    return {
        "pending_invitations": lambda: notify.pending_count(current_user.id),
        "unread_total": lambda: reading.total_unread(current_user.id),
        # Rendered by our own template from integer ids: markup, not text to escape.
        "online_style": lambda: Markup(notify.render_online(oob=False)),
    }
