"""What every API request goes through: no cookies, a size, a token, a rate, JSON bodies."""

from flask import current_app, g, request

from chatapp.apierrors import API_PATH_PREFIX, is_api_request, refuse
from chatapp.blueprints.api.spec import TOKEN_NOT_NEEDED
from chatapp.extensions import api_rate_limit, db, login_manager
from chatapp.models import ApiToken

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NO_TOKEN = "Send a valid token: Authorization: Bearer <token>. POST /api/v1/tokens gives one."


class WithoutCookies:
    """WSGI middleware that drops cookies from API requests before anything reads them.

    The API takes only tokens: a page on another site that makes the browser call it sends
    the browser's cookies along, and those must count for nothing (no CSRF, no session).
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(API_PATH_PREFIX):
            environ.pop("HTTP_COOKIE", None)
        return self.wsgi_app(environ, start_response)


def init_app(app):
    """Put every API request through the checks below."""
    app.wsgi_app = WithoutCookies(app.wsgi_app)
    app.before_request(check_api_request)
    app.after_request(add_rate_limit_headers)
    login_manager.request_loader(user_of_token)


def check_api_request():
    """Limit the body, find the token, count the request, and refuse what must be refused."""
    if not is_api_request():
        return
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]
    g.api_token = token = bearer_token()
    caller = f"token:{token.id}" if token else f"address:{request.remote_addr}"
    g.api_quota = quota = api_rate_limit.hit(caller)
    if not quota.allowed:
        wait = quota.retry_after()
        message = f"Too many requests. Try again in {wait} s."
        refuse(429, message, headers={"Retry-After": str(wait)})
    if request.url_rule is None:
        return  # 404 or 405 follows, with or without a token
    if token is None and not token_not_needed():
        refuse(401, NO_TOKEN, headers={"WWW-Authenticate": 'Bearer realm="chatapp"'})
    if token is not None and token.record_use():
        db.session.commit()
    check_body_is_json()


def bearer_token():
    """The token named by the Authorization header, or None."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return ApiToken.find(secret.strip())


def token_not_needed():
    """Whether the view is open to anyone (handing out tokens, signing up)."""
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, TOKEN_NOT_NEEDED, False)


def check_body_is_json():
    """A body, when there is one, must be JSON: anything else would be read as no fields."""
    chunked = request.content_length is None and "Transfer-Encoding" in request.headers
    if request.method not in BODY_METHODS or not (request.content_length or chunked):
        return
    if not request.is_json:
        refuse(415, "Send the body as JSON, with Content-Type: application/json.")
    if chunked:
        # Werkzeug stops a chunked body quietly at the limit; asking for one byte past it
        # is what raises 413, rather than parsing the cut-off start as if it were all.
        request.get_data(cache=True)
        request.stream.read(1)


def user_of_token(_request):
    """flask-login's current_user for an API request: the user of its token."""
    token = g.get("api_token")
    return token.user if token is not None else None


def add_rate_limit_headers(response):
    """Tell every API caller where it stands against its rate limit."""
    quota = g.get("api_quota")
    if quota is not None:
        response.headers.update(quota.headers())
    return response
