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

# Room sockets: a ping after 25 s without a word (no answer closes the socket), frames
# up to 64 KiB, and a client more than 1000 frames behind is hung up on (it resumes).
WEBSOCKET_OPTIONS = {"ping_interval": 25, "max_message_size": 64 * 1024, "queue_limit": 1000}

LOGIN_FAILURE_LIMIT_PER_USERNAME = "5 per 5 minutes"
LOGIN_FAILURE_LIMIT_PER_ADDRESS = "20 per 5 minutes"
API_RATE_LIMIT = "120 per minute"  # per token, or per address for requests without one
API_MAX_BODY_BYTES = 64 * 1024  # a JSON request body; far above the longest message
PROXY_COUNT = 0  # reverse proxies in front of the app whose X-Forwarded-* we trust

AVATAR_SIZE = 300
MAX_AVATAR_BYTES = 5 * 1024 * 1024
MAX_AVATAR_PIXELS = 40_000_000

WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: tabs stay open for days
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # also set per request when it came over HTTPS
PERMANENT_SESSION_LIFETIME = timedelta(days=30)
