"""Security headers on every response."""

from flask import request
from flask_login import current_user

# Scripts only from our own files: htmx needs no eval and no inline script. Inline
# styles are allowed, as htmx settles style attributes and injects its indicator rule.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app):
    """Add the security headers to every response the app sends."""
    app.after_request(add_security_headers)
    app.after_request(keep_private_pages_out_of_caches)


def add_security_headers(response):
    """Set each security header the view did not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def keep_private_pages_out_of_caches(response):
    """Pages of a logged-in user are stored by no cache, the browser's own included."""
    # Static files are the same for everyone; a view that sets its own rule (avatars,
    # the event stream) keeps it.
    if request.endpoint == "static" or "Cache-Control" in response.headers:
        return response
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response
