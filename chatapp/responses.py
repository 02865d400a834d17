"""Page or fragment, redirect or HX-Redirect: decided here and nowhere else."""

from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request


def is_htmx():
    """Whether htmx asked for a fragment; a boosted request still wants the page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"


def render(page, fragment, status=200, **context):
    """Render the fragment for htmx, else the page that includes it."""
    return render_template(fragment if is_htmx() else page, **context), status


def redirect_after_post(url):
    """Answer a successful form POST: 303 for a browser, HX-Redirect for htmx."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def local_url_or(url, fallback):
    """Return url if it stays on this site (a path), else fallback."""
    if not url or "\\" in url:
        return fallback
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/"):
        return fallback
    return url
