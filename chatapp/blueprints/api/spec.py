"""The API object that builds the OpenAPI document, and the blueprints it documents."""

import flask_smorest
from flask import current_app
from webargs.flaskparser import FlaskParser, abort

from chatapp.blueprints.api.schemas import MAX_ID, ErrorSchema

PREFIX = "/api/v1"
BEARER = "bearer"
TOKEN_NOT_NEEDED = "token_not_needed"
# Bounded, so that no id too large for the database's integers reaches a query.
INVITATION_ID = f"<int(max={MAX_ID}):invitation_id>"


class ChatApi(flask_smorest.Api):
    """flask-smorest's Api, documenting our error shape and leaving errors to the app."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors under /api/ are answered as JSON by the app's own handlers (apierrors)."""


class JsonParser(FlaskParser):
    """webargs' parser, for which JSON nested too deep to decode is bad JSON, not a crash,
    and NUL is refused in any text, as the forms refuse it."""

    def _raw_load_json(self, req):
        try:
            body = super()._raw_load_json(req)
        except RecursionError:
            abort(400, messages={"json": ["Invalid JSON body: nested too deeply."]})
        if holds_nul(body):
            abort(400, messages={"json": ["Text may not contain NUL characters."]})
        return body


def holds_nul(body):
    """Whether any text in a decoded JSON body, keys included, holds a NUL character."""
    waiting = [body]
    while waiting:
        value = waiting.pop()
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict):
            waiting.extend(value.keys())
            waiting.extend(value.values())
        elif isinstance(value, list):
            waiting.extend(value)
    return False


class Blueprint(flask_smorest.Blueprint):
    """A documented part of the API, under /api/v1."""

    ARGUMENTS_PARSER = JsonParser()

    def __init__(self, name, import_name, description, url_prefix=""):
        super().__init__(name, import_name, url_prefix=PREFIX + url_prefix, description=description)

    def without_token(self, view):
        """Mark a view that anyone may call, such as the one that hands out tokens."""
        return without_token(self.doc(security=[])(view))


def without_token(view):
    """Let the view be called without a token."""
    setattr(view, TOKEN_NOT_NEEDED, True)
    return view


SPEC = {
    "title": "chatapp",
    "version": "1",
    "openapi_version": "3.1.0",
    "info": {
        "description": (
            "The chat for programs, with the same rules as the pages. POST /api/v1/tokens "
            "gives a token; send it as Authorization: Bearer <token>."
        )
    },
    "security": [{BEARER: []}],
}


def create_api(app):
    """The app's API object, which builds the document as the blueprints register."""
    api = ChatApi(app, spec_kwargs=SPEC)
    api.spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer"})
    app.extensions["api"] = api
    return api


def current_document():
    """The OpenAPI document of the current app's API, as a dict."""
    return current_app.extensions["api"].spec.to_dict()
