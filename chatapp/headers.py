"""Security headers on every response."""

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


def add_security_headers(response):
    """Set each security header the view did not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
