"""The OpenAPI document, and a page that lists what it describes; neither needs a token."""

from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from chatapp.blueprints.api.spec import PREFIX, current_document, without_token

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)

METHODS = ("get", "post", "put", "patch", "delete")
ASYNCAPI = "asyncapi.yaml"


@bp.get("/openapi.json")
@without_token
def openapi():
    """The OpenAPI 3.1 document of the API, generated from its code."""
    return jsonify(current_document())


@bp.get("/asyncapi.yaml")
@without_token
def asyncapi():
    """The AsyncAPI 3.0 document of the event socket, as kept in the repository's docs/."""
    folder = Path(current_app.root_path).parent / "docs"
    return send_from_directory(folder, ASYNCAPI, mimetype="application/yaml")


@bp.get("/docs")
@without_token
def page():
    """The API's operations, read from the document."""
    document = current_document()
    return render_template("api/docs.html", document=document, operations=operations(document))


def operations(document):
    """(method, path, operation) for every operation in the document, grouped by tag."""
    found = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    return sorted(found, key=lambda each: (each[2].get("tags", [""])[0], each[1]))
