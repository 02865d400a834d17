"""Default configuration. Secrets never live here: see create_app and the README."""

from datetime import timedelta

# Names without a CHATAPP_ prefix are Flask's and its extensions' own settings.
SQLALCHEMY_DATABASE_URI = None  # derived from DATABASE_URL or the instance folder
DATABASE_URL = None
REDIS_URL = None
LOG_DIR = "logs"
ALLOWED_ORIGINS = []
HISTORY_SIZE = 30
MAX_MESSAGE_LENGTH = 4000
FLOOD_LIMIT = "10/10s"
PRESENCE_GRACE_SECONDS = 5  # a reload within this is neither a leave nor a join
EVENTS_KEEPALIVE_SECONDS = 15  # a comment on idle event streams, so proxies keep them

# Room sockets: looked in on every 25 s, a socket silent since the last look is pinged and
# one still silent at the next is closed; frames up to 64 KiB; and a client more than
# 1000 frames behind is hung up on (it resumes).
WEBSOCKET_OPTIONS = {"ping_interval": 25, "max_message_size": 64 * 1024, "queue_limit": 1000}
# A room socket's frames other than messages (which keep to FLOOD_LIMIT) and read marks
# (which cost next to nothing): typing, a resume, anything not understood. Past this the
# socket is read no faster, and TCP makes the browser wait. A person sends far fewer.
ROOM_SOCKET_FRAME_LIMIT = "60/10s"
# Room sockets and event streams one user may hold open in one process: a tab has one
# stream and one socket, so this is many tabs, yet far from a worker's 1,000 connections.
MAX_CONNECTIONS_PER_USER = 40

# Rate limits: "N/s", "N/10s", "N/m", "N/5m", "N/h", or "off".
# Wrong passwords for one name from one address, then from one address for any names.
# Per name from everywhere only a high ceiling: a stranger must not lock its owner out.
LOGIN_FAILURE_LIMIT_PER_USERNAME_AND_ADDRESS = "5/5m"
LOGIN_FAILURE_LIMIT_PER_ADDRESS = "20/5m"
LOGIN_FAILURE_LIMIT_PER_USERNAME = "100/h"
# Enough for a team behind one address to sign up on its first day.
SIGNUP_LIMIT_PER_ADDRESS = "120/h"
AVATAR_UPLOAD_LIMIT_PER_USER = "10/h"
API_RATE_LIMIT = "120/m"  # per token, or per address for requests without one
API_MAX_BODY_BYTES = 64 * 1024  # a JSON request body; far above the longest message
API_SOCKET_REQUEST_LIMIT = "120/10s"  # requests per program socket (WS /api/v1/ws)
API_SOCKET_MAX_SUBSCRIPTIONS = 100  # rooms one program socket may hear at once
PROXY_COUNT = 0  # reverse proxies in front of the app whose X-Forwarded-* we trust

# A form without a file, URL-encoded: the longest message (4,000 characters of up to
# four bytes, each byte written as %XX) fits with room to spare. Larger is refused
# before it is parsed, so no validator ever sees a field of megabytes.
MAX_FORM_BYTES = 128 * 1024
MAX_FORM_MEMORY_SIZE = 64 * 1024  # Flask's own: one text part of a multipart form
MAX_FORM_PARTS = 32  # Flask's own: the profile form has 9

AVATAR_SIZE = 300
MAX_AVATAR_BYTES = 5 * 1024 * 1024
# Shown at 300x300: more pixels than a phone photo's only cost decoding time and memory.
MAX_AVATAR_PIXELS = 4096 * 4096

WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: tabs stay open for days
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # also set per request when it came over HTTPS
PERMANENT_SESSION_LIFETIME = timedelta(days=30)
