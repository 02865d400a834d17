"""Error pages: a whole page for a browser, a fragment for htmx, JSON for the API."""

from flask import Blueprint, current_app
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from chatapp.apierrors import error_response, is_api_request
from chatapp.avatars import readable_size
from chatapp.extensions import db
from chatapp.incoming import is_upload
from chatapp.responses import render

bp = Blueprint("errors", __name__)

CSRF_MESSAGE = (
    "This form is missing its security token or it has expired. "
    "Reload the page and try again; nothing was changed."
)


@bp.app_errorhandler(HTTPException)
def http_error(error):
    """Show an HTTP error with its own message."""
    return render_error(error, error.description)


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    """Explain a refused form in words a person can act on."""
    return render_error(error, CSRF_MESSAGE)


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(error):
    """Say how big an upload may be (the only uploads are avatars), or that a form is too big."""
    if is_upload():
        limit = readable_size(current_app.config["MAX_AVATAR_BYTES"])
        message = f"That upload is too large: images of up to {limit} are accepted."
    else:
        message = "That form is far larger than any of ours accepts."
    return render_error(error, f"{message} Nothing was changed.")


@bp.app_errorhandler(InternalServerError)
def internal_error(error):
    """Roll back whatever the failed request left half done."""
    db.session.rollback()
    return render_error(error, "Something went wrong on our side. Please try again.")


def render_error(error, message):
    """Render the error page or fragment, keeping headers such as Allow; JSON for the API."""
    if is_api_request():
        return error_response(error)
    body, status = render(
        "errors/page.html", "errors/_error.html", error.code, error=error, message=message
    )
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return body, status, headers
