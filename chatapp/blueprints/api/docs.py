"""The OpenAPI document, and a page that lists what it describes; neither needs a token."""

from flask import Blueprint, jsonify, render_template

from chatapp.blueprints.api.spec import PREFIX, current_document, without_token

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)

METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
@without_token
def openapi():
    """The OpenAPI 3.1 document of the API, generated from its code."""
    return jsonify(current_document())


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
