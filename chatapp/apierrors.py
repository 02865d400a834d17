"""Refusals of the JSON API, all in one shape: {"error": {"code", "message"}} and a 4xx status.

Every error under /api/ is answered here, the app's own (404, 405, 413, 500) included, so
that a program never has to read an HTML page.
"""

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

API_PATH_PREFIX = "/api/"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}

MESSAGES = {
    400: "The request could not be read.",
    401: "Send a valid token: Authorization: Bearer <token>.",
    404: "There is nothing here, or nothing you may see.",
    405: "That method is not allowed here.",
    500: "Something went wrong on our side. Please try again.",
}


class ApiRefusal(HTTPException):
    """A request the API turns down, with its status, a code for programs and a message."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__(message)
        self.code = status
        self.api_code = code or CODES.get(status, "error")
        self.extra_headers = headers or {}

    def get_headers(self, environ=None, scope=None):
        """The refusal's own headers, such as Retry-After or WWW-Authenticate."""
        return [*super().get_headers(environ, scope), *self.extra_headers.items()]


def refuse(status, message, code=None, headers=None):
    """Turn the request down."""
    raise ApiRefusal(status, message, code, headers)


def is_api_request():
    """Whether the request is for the JSON API."""
    return request.path.startswith(API_PATH_PREFIX)


def error_response(error):
    """The JSON answer to any HTTP error raised while serving the API."""
    status = error.code or 500
    body = {"code": getattr(error, "api_code", None) or CODES.get(status, "error")}
    fields = invalid_fields(error)
    body["message"] = summary(fields) if fields else message_for(error)
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def message_for(error):
    """The error's own words, or ours where it only has Werkzeug's generic ones."""
    if error.code == 413:
        limit = current_app.config["API_MAX_BODY_BYTES"]
        return f"The request body is too large: at most {limit} bytes are accepted."
    if isinstance(error, ApiRefusal) or error.description != type(error).description:
        return error.description
    return MESSAGES.get(error.code, HTTP_STATUS_CODES.get(error.code, "Error"))


def invalid_fields(error):
    """{field: [messages]} from the validation of a request's body or query, if any."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    fields = {}
    for location, found in messages.items():
        flatten(found, "" if location in ("json", "query") else location, fields)
    return fields


def flatten(found, prefix, fields):
    """Collect marshmallow's nested messages under dotted names ("invite.0")."""
    if isinstance(found, dict):
        for key, value in found.items():
            name = "body" if key == "_schema" else str(key)
            flatten(value, f"{prefix}.{name}" if prefix else name, fields)
    else:
        fields.setdefault(prefix or "body", []).extend(found)


def summary(fields):
    """One sentence for programs that show only the message."""
    return " ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
