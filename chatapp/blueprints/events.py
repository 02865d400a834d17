"""Each user's Server-Sent Events stream, opened on every page."""

from flask import Blueprint, Response, abort, request, session, stream_with_context
from flask_login import current_user, login_required
from markupsafe import Markup

from chatapp import notify, reading
from chatapp.blueprints.chat import TOO_MANY_CONNECTIONS
from chatapp.connections.eventstream import EventStream
from chatapp.live.presence import has_too_many_connections
from chatapp.origins import is_allowed_origin

bp = Blueprint("events", __name__, url_prefix="/chat")


@bp.get("/events")
@login_required
def stream():
    """My live notifications; a reconnect starts with a fresh snapshot of what they show."""
    if not is_allowed_origin(request):
        abort(403, "This site does not accept event streams opened from that origin.")
    if has_too_many_connections(current_user.id):
        abort(429, TOO_MANY_CONNECTIONS)
    reconnected = "Last-Event-ID" in request.headers
    events = EventStream(current_user.id, session.get("sid"), reconnected).events()
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(events), mimetype="text/event-stream", headers=headers)


@bp.app_context_processor
def live_counts():
    """Counts that the navigation of every page shows, computed only when drawn."""
    return {
        "pending_invitations": lambda: notify.pending_count(current_user.id),
        "unread_total": lambda: reading.total_unread(current_user.id),
        # Rendered by our own template from integer ids: markup, not text to escape.
        "online_style": lambda: Markup(notify.render_online(oob=False)),
    }
