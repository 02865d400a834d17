"""Request sizes: small for every form, larger only where an avatar is uploaded."""

from flask import current_app, request

UPLOAD_ENDPOINTS = frozenset({"users.edit_profile"})


def init_app(app):
    """Raise the size cap for the upload form only; everything else keeps MAX_FORM_BYTES."""
    app.before_request(allow_uploads)


def is_upload():
    """Whether this request goes to a form that carries a file."""
    return request.endpoint in UPLOAD_ENDPOINTS


def allow_uploads():
    """Let the avatar form carry its image, before anything reads the form."""
    if is_upload():
        request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"]
