"""What a request may carry: a small body unless it uploads an avatar, and no NUL in a form."""

from flask import abort, current_app, request

UPLOAD_ENDPOINTS = frozenset({"users.edit_profile"})
NUL_REFUSED = "Form fields may not contain NUL characters. Nothing was changed."
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def init_app(app):
    """Check every request before anything reads its form; CSRFProtect reads it too."""
    app.before_request(allow_uploads)
    app.before_request(refuse_nul)


def is_upload():
    """Whether this request goes to a form that carries a file."""
    return request.endpoint in UPLOAD_ENDPOINTS


def allow_uploads():
    """Let the avatar form carry its image; every other request keeps MAX_FORM_BYTES."""
    if is_upload():
        request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"]


def refuse_nul():
    """Refuse a form with a NUL character in any field: no text here needs one."""
    # Only forms: reading another body here would read it before its own limit is set.
    if request.mimetype not in FORM_TYPES:
        return
    # PostgreSQL cannot store NUL in text, and a name or a log line must not hold one.
    if any("\x00" in value for values in request.form.listvalues() for value in values):
        abort(400, NUL_REFUSED)
