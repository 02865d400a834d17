"""Cross-site scripting: user text of every kind shown in real chromium, and nothing runs.

Each payload would, if it reached the page as markup, add an element whose id starts with
"xss", set window.__pwned, or open a dialog; after each page, chromium is asked for all
three. The page's Content-Security-Policy would stop inline scripts anyway, so the marker
elements are what show escaping itself at work.
"""

import re
import sqlite3
from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Person
from tests.live import live_server, unique, upload_avatar

VECTORS = [
    "<script>window.__pwned={n}</script><b id=xss{n}>",
    "<img id=xss{n} src=x onerror=window.__pwned={n}>",
    "<svg id=xss{n} onload=window.__pwned={n}>",
    '"><img id=xss{n} src=x onerror=alert({n})>',
    "'><img id=xss{n} src=x onerror=alert({n})>",
    "</textarea><img id=xss{n} src=x>",
    "</title><img id=xss{n} src=x>",
    "</style><img id=xss{n} src=x>",
    "<!--><img id=xss{n} src=x>-->",
    '<iframe id=xss{n} srcdoc="<script>parent.__pwned=1</script>">',
    '<a id=xss{n} href="javascript:window.__pwned={n}">x</a>',
    "<details id=xss{n} open ontoggle=window.__pwned={n}>",
    "<body id=xss{n} onload=window.__pwned={n}>",
    "<input id=xss{n} autofocus onfocus=window.__pwned={n}>",
    "<math><mi id=xss{n}>x</mi></math>",
    '<object id=xss{n} data="javascript:alert({n})">',
    '<embed id=xss{n} src="javascript:alert({n})">',
    '<div id=xss{n} hx-get="/chat/room/" hx-trigger=load>',
    '<div id=xss{n} hx-on:htmx:load="window.__pwned={n}">',
    '<form id=xss{n} action="javascript:alert({n})"><button>x',
    '<base id=xss{n} href="https://evil.example/">',
    '<meta id=xss{n} http-equiv=refresh content="0;url=/x">',
    "<style id=xss{n}>body{{display:none}}</style>",
    "<template id=xss{n}><img src=x></template>",
    "<video id=xss{n}><source onerror=alert({n})></video>",
    "<audio id=xss{n} src=x onerror=alert({n})>",
    "<marquee id=xss{n} onstart=alert({n})>",
    "<select id=xss{n} autofocus onfocus=alert({n})>",
    "<textarea id=xss{n} autofocus onfocus=alert({n})>",
    '<table id=xss{n} background="javascript:alert({n})">',
    '<svg><a id=xss{n} href="javascript:alert({n})"><text>x',
    '<img id=xss{n} src=x onerror="&#97;lert({n})">',
    "<IMG ID=xss{n} SRC=x OnErRoR=alert({n})>",
    "<img/id=xss{n}/src=x/onerror=alert({n})>",
    "<scr<script>ipt id=xss{n}>alert({n})</script>",
    "%3Cimg id=xss{n} src=x%3E",
    "&lt;img id=xss{n} src=x&gt;",
    "{{{{7*7}}}}<b id=xss{n}>",
    "${{7*7}}<b id=xss{n}>",
    '<b id=xss{n} style="background:url(javascript:x)">',
    "<div id=xss{n} data-hx-get=/chat/room/ data-hx-trigger=load>",
    '<img id=xss{n} src=x sse-connect="/chat/events">',
    '<div id=xss{n} hx-swap-oob="true">',
    '<p id="announcements" hx-swap-oob="innerHTML"><b id=xss{n}>',
    '<noscript><p title="</noscript><img id=xss{n} src=x>">',
    "<svg><style><img id=xss{n} src=x onerror=alert({n})>",
    '"onmouseover="alert({n})" id="xss{n}',
    "javascript:alert({n})//<b id=xss{n}>",
    "<x id=xss{n} contenteditable onfocus=alert({n}) autofocus>",
    '<button id=xss{n} formaction="javascript:alert({n})">x',
    "<ws-send id=xss{n} ws-connect=/chat/room/x/ws>",
    "<object id=xss{n} type=text/html data=/chat/room/>",
    "<a id=xss{n} href=//evil.example>x</a><!--",
    "\"'><svg/onload=alert({n})><b id=xss{n}>",
]
PAYLOADS = [vector.format(n=n) for n, vector in enumerate(VECTORS)]
SHORT = [p for p in PAYLOADS if len(p) <= 64]
# Addresses email-validator accepts that still hold quotes, ampersands and slashes.
EMAILS = ["o'neil@example.org", "a&b=c@example.org", "x/y{z}@example.org", "q?x=1#y@example.org"]

INSPECT = """() => ({
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    injected: [...document.querySelectorAll('[id^="xss"]')].map(e => e.outerHTML.slice(0, 80)),
    text: document.body.innerText,
})"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server for the module, where a hundred people sign up from one address."""
    folder = tmp_path_factory.mktemp("xss")
    with live_server(folder, migrated_database, SIGNUP_LIMIT_PER_ADDRESS="off") as running:
        yield running


@pytest.fixture(scope="module")
def authors(server):
    """One person per payload, with it as display name (where it fits) and "about"."""
    people = []
    for number, payload in enumerate(PAYLOADS):
        (person,) = server.people(f"x{number}-")
        profile = {"username": person.username, "about": payload}
        if payload in SHORT:
            profile["display_name"] = payload
        status, _, page = person.post("/chat/profile/", profile, page="/chat/profile/")
        assert status == 200 and "Profile saved." in page, page
        people.append(person)
    return people


def watchful_person(context, name):
    """Someone signed up in chromium who counts every dialog a page opens."""
    person = Person(context.new_page(), unique(name))
    person.dialogs = []
    person.page.on("dialog", lambda dialog: remember_dialog(person, dialog))
    # Signed up once the lobby has loaded and opened its event stream.
    with person.page.expect_response(lambda r: r.url.endswith("/chat/events") and r.ok):
        person.sign_up()
    return person


@pytest.fixture
def reader(chromium, server):
    """Someone in chromium, reading what others wrote."""
    context = chromium.new_context(base_url=server.url)
    yield watchful_person(context, "reader")
    context.close()


def remember_dialog(person, dialog):
    """Note what a dialog said, and close it."""
    person.dialogs.append(dialog.message)
    dialog.dismiss()


def assert_inert(person, expected_text=()):
    """Nothing the payloads carry ran or became markup; their text shows as text."""
    seen = person.page.evaluate(INSPECT)
    assert seen["pwned"] is None
    assert seen["injected"] == []
    assert person.dialogs == []
    for text in expected_text:
        assert text in seen["text"]


def test_there_are_at_least_fifty_payloads():
    assert len(set(PAYLOADS)) >= 50


@pytest.mark.parametrize("payload", SHORT[:12])
def test_usernames_and_room_names_cannot_carry_markup(server, payload):
    (person,) = server.people("namer")
    status, _, page = person.post("/chat/room/", {"name": payload, "visibility": "public"})
    assert status == 422 and "Only 1 to 64 letters" in page
    status, _, _ = person.post("/chat/profile/", {"username": payload}, page="/chat/profile/")
    assert status == 422
    stranger = server.browser()
    status, _, _ = stranger.post("/chat/login/", {"username": payload}, page="/chat/login/")
    assert status == 422


def test_display_names_are_inert_in_the_directory(reader, authors):
    reader.page.goto("/chat/users/")
    assert_inert(reader, SHORT)


def test_display_names_and_about_are_inert_on_each_profile(reader, authors):
    for person, payload in zip(authors, PAYLOADS, strict=True):
        reader.page.goto(f"/chat/users/{person.username}/")
        expect(reader.page.locator(".about")).to_have_text(payload)
        assert_inert(reader)


def test_my_own_payloads_are_inert_in_my_profile_form_and_lobby(chromium, server, authors):
    context = chromium.new_context(base_url=server.url)
    author = watchful_person(context, "author")
    try:
        payload = SHORT[3]
        author.page.goto("/chat/profile/")
        author.page.get_by_label("Display name").fill(payload)
        author.page.get_by_label("About me").fill(PAYLOADS[0])
        author.page.get_by_role("button", name="Save profile").click()
        # htmx is told to go to the profile page again, which says it was saved.
        expect(author.page.locator(".flash")).to_contain_text("Profile saved.")
        expect(author.page.get_by_label("Display name")).to_have_value(payload)
        assert_inert(author)
        author.page.goto("/chat/room/")
        assert_inert(author, [payload])
    finally:
        context.close()


def test_names_in_a_room_are_inert(reader, authors):
    owner = authors[0]
    room = owner.room_with(*authors[1:12])
    owner.post(f"/chat/room/{room}/edit/invite", {"username": reader.username})
    reader.page.goto("/chat/room/")
    invitation = reader.page.locator("#invitations li", has_text=room)
    invitation.get_by_role("button", name="Accept").click()
    expect(reader.page).to_have_url(re.compile(rf"/chat/room/{room}/$"))
    assert_inert(reader, SHORT[:5])


@pytest.mark.parametrize("email", EMAILS)
def test_emails_with_quotes_and_url_syntax_stay_one_inert_link(reader, server, email):
    (person,) = server.people("mail")
    profile = {"username": person.username, "email": email}
    _, _, page = person.post("/chat/profile/", profile, page="/chat/profile/")
    assert "Profile saved." in page
    reader.page.goto(f"/chat/users/{person.username}/")
    link = reader.page.get_by_role("link", name=email)
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    assert href.startswith("mailto:") and "?" not in href and "#" not in href
    assert_inert(reader)


def test_announcements_arrive_live_and_inert(reader, server, authors):
    admin = authors[2]
    with sqlite3.connect(server.database) as database:
        database.execute("UPDATE users SET is_admin = 1 WHERE username = ?", (admin.username,))
    texts = PAYLOADS[:20]
    with reader.page.expect_response(lambda r: r.url.endswith("/chat/events")):
        reader.page.goto("/chat/room/")
    for text in texts:
        status, _, _ = admin.post("/chat/announcements", {"text": text})
        assert status == 200
    expect(reader.page.locator("#announcements .announcement")).to_have_count(len(texts))
    assert_inert(reader, texts)


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>window.__pwned=1</script></body></html>"
GIF_HTML = b"GIF89a<script>window.__pwned=1</script>"


@pytest.mark.parametrize(
    ("filename", "content"),
    [("me.png", SVG), ("me.svg", SVG), ("me.gif", HTML), ("me.jpg", GIF_HTML), ("me.html", HTML)],
)
def test_markup_disguised_as_an_image_is_refused(server, filename, content):
    (person,) = server.people("painter")
    assert upload_avatar(person, content, filename) == 422
    _, _, page = person.get("/chat/profile/")
    assert "/chat/avatars/" not in page


def test_an_image_carrying_markup_is_served_as_a_fresh_webp_only(reader, server):
    image = BytesIO()
    Image.new("RGB", (32, 32), "teal").save(image, "PNG")
    (person,) = server.people("polyglot")
    assert upload_avatar(person, image.getvalue() + HTML) == 200
    _, _, page = person.get("/chat/profile/")
    avatar = re.search(r'src="(/chat/avatars/[^"]+\.webp)"', page).group(1)
    response = reader.page.goto(avatar)
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert b"<script" not in response.body()
    assert reader.page.evaluate("window.__pwned === undefined")
