"""Which origins may open sockets: this site's own and CHATAPP_ALLOWED_ORIGINS."""

from flask import current_app


def origin_of(url):
    """The scheme://host[:port] of a URL, in lower case, without a trailing slash."""
    return url.rstrip("/").lower()


def is_allowed_origin(request):
    """Whether the request's Origin is this site or an allowed one; no Origin is a non-browser."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    allowed = {origin_of(request.host_url)}
    allowed.update(origin_of(extra) for extra in current_app.config["ALLOWED_ORIGINS"])
    return origin_of(origin) in allowed
