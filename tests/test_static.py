"""htmx and its extensions are vendored, versioned, licensed and served from this site."""

import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "chatapp" / "static" / "vendor"
SCRIPT_SRC = re.compile(r'<script src="([^"]+)"')


def test_every_page_loads_htmx_and_its_extensions_from_this_site(client):
    page = client.get("/chat/login/").get_data(as_text=True)
    sources = SCRIPT_SRC.findall(page)
    assert [Path(src).name for src in sources] == [
        "htmx-2.0.11.min.js",
        "htmx-ext-ws-2.0.4.min.js",
        "htmx-ext-sse-2.2.4.min.js",
    ]
    for src in sources:
        assert src.startswith("/static/vendor/")
        with client.get(src) as response:
            assert response.status_code == 200
            assert response.mimetype == "text/javascript"


def test_each_vendored_package_has_its_licence_beside_it():
    for package in ("htmx", "htmx-ext-ws", "htmx-ext-sse"):
        assert (VENDOR / f"LICENSE-{package}").read_text().strip()
