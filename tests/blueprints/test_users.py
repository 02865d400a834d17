"""The directory, profiles, editing my profile, changing my password, deleting my account."""

import hashlib
import io
import re
import time
from urllib.parse import quote, unquote, urlsplit

import pytest
from flask_login import user_logged_in
from PIL import Image

from chatapp.extensions import db
from chatapp.models import User
from chatapp.names import NAME_RULE
from tests.support import (
    HTMX,
    PASSWORD,
    AuthActions,
    form_token,
    signed_up,
    stored_user,
    submit,
    text,
)

NEW_PASSWORD = "battery staple"
AVATAR_URL = re.compile(r'src="(/chat/avatars/\d+/[0-9a-f]{16}\.webp)"')
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def image_file(width=40, height=20, image_format="PNG", mode="RGB", color="teal"):
    """The bytes of an image made by Pillow."""
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, image_format)
    return out.getvalue()


def save_profile(client, headers=None, **fields):
    """Fill in the profile form and send it; avatar_file is a (filename, bytes) pair."""
    data = {}
    for name, value in fields.items():
        if name == "avatar_file":
            filename, content = value
            value = (io.BytesIO(content), filename)
        data[name] = value
    return submit(
        client, "/chat/profile/", data, content_type="multipart/form-data", headers=headers
    )


def upload_avatar(client, content, filename="me.png"):
    """Upload an avatar with the profile form."""
    return save_profile(client, avatar_file=(filename, content))


def avatar_url(client):
    """The avatar URL shown on my profile page, or None when I have none."""
    match = AVATAR_URL.search(text(client.get("/chat/profile/")))
    return match and match.group(1)


def served_image(client, url):
    """Open the image at url with Pillow."""
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    return Image.open(io.BytesIO(response.data))


def change_password(client, current, password, confirm=None, headers=None):
    """Send the password form of the profile page."""
    data = {
        "current_password": current,
        "password": password,
        "password_confirm": password if confirm is None else confirm,
    }
    return submit(client, "/chat/profile/", data, action="/chat/profile/password", headers=headers)


def delete_account(client, password, headers=None):
    """Send the delete form of the profile page."""
    return submit(
        client,
        "/chat/profile/",
        {"confirm_password": password},
        action="/chat/profile/delete",
        headers=headers,
    )


def logs_in(app, username, password):
    """Whether a fresh browser can log in with these credentials."""
    return AuthActions(app.test_client()).login(username, password).status_code == 303


# Logged-out visitors


@pytest.mark.parametrize(
    ("method", "page"),
    [
        ("GET", "directory"),
        ("GET", "profile"),
        ("GET", "edit"),
        ("POST", "edit"),
        ("GET", "avatar"),
        ("POST", "password"),
        ("POST", "delete"),
    ],
)
def test_a_logged_out_visitor_is_sent_to_login(app, client, auth, method, page):
    auth.signup("alice")
    upload_avatar(client, image_file())
    paths = {
        "directory": "/chat/users/",
        "profile": "/chat/users/alice/",
        "edit": "/chat/profile/",
        "avatar": avatar_url(client),
        "password": "/chat/profile/password",
        "delete": "/chat/profile/delete",
    }
    auth.logout()
    data = {
        "csrf_token": form_token(client, "/chat/login/"),
        "username": "mallory",
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        "confirm_password": PASSWORD,
    }
    response = client.open(paths[page], method=method, data=data if method == "POST" else None)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/chat/login/?next=")
    assert "Please log in to continue." in text(client.get(response.headers["Location"]))
    alice = stored_user(app, "alice")
    assert alice is not None and alice.check_password(PASSWORD)


# The directory and profiles


def test_the_directory_lists_everyone_sorted_without_regard_to_case(app, client, auth):
    for name in ("bob", "Dave", "carol"):
        signed_up(app, name)
    auth.signup("Alice")
    page = text(client.get("/chat/users/"))
    names = ["Alice", "bob", "carol", "Dave"]
    positions = [page.index(f'href="/chat/users/{name}/"') for name in names]
    assert positions == sorted(positions)


def test_the_directory_shows_display_names_with_the_username(app, client, auth):
    auth.signup("alice")
    save_profile(client, display_name="Alice Liddell")
    page = text(signed_up(app, "bob").get("/chat/users/"))
    assert '<bdi>Alice Liddell</bdi> <span class="handle">@<bdi>alice</bdi></span></a>' in page


@pytest.mark.parametrize("asked_for", ["alice", "ALICE", "aLiCe"])
def test_a_profile_is_found_in_any_letter_case(client, auth, asked_for):
    auth.signup("Alice")
    response = client.get(f"/chat/users/{asked_for}/")
    assert response.status_code == 200
    assert "<h1><bdi>Alice</bdi></h1>" in text(response)


def test_an_unknown_profile_is_404(client, auth):
    auth.signup("alice")
    response = client.get("/chat/users/nobody/")
    assert response.status_code == 404
    page = text(response)
    assert "404 Not Found" in page and "<html" in page


def test_my_profile_links_to_its_editor_and_others_do_not(app, client, auth):
    auth.signup("alice")
    signed_up(app, "bob")
    assert "Edit my profile" in text(client.get("/chat/users/alice/"))
    assert "Edit my profile" not in text(client.get("/chat/users/bob/"))


def test_an_admin_is_marked_as_such_on_the_profile(app, client, auth):
    auth.signup("alice")
    with app.app_context():
        User.find("alice").promote_to_admin()
        db.session.commit()
    assert "@<bdi>alice</bdi> · admin" in text(client.get("/chat/users/alice/"))


@pytest.mark.parametrize("field", ["display_name", "about"])
def test_user_text_is_escaped_on_profile_and_directory(app, client, auth, field):
    auth.signup("alice")
    save_profile(client, **{field: SCRIPT})
    viewer = signed_up(app, "bob")
    pages = [text(viewer.get("/chat/users/alice/")), text(client.get("/chat/profile/"))]
    if field == "display_name":
        pages.append(text(viewer.get("/chat/users/")))
    for page in pages:
        assert ESCAPED_SCRIPT in page
        assert SCRIPT not in page


# Editing the profile


def test_editing_display_name_email_and_about_shows_on_the_profile(app, client, auth):
    auth.signup("alice")
    response = save_profile(
        client,
        display_name="Alice Liddell",
        email="alice@example.com",
        about="Curious.\nFollows rabbits.",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/profile/"
    assert "Profile saved." in text(client.get("/chat/profile/"))
    page = text(signed_up(app, "bob").get("/chat/users/alice/"))
    assert "<h1><bdi>Alice Liddell</bdi></h1>" in page
    assert 'href="mailto:alice@example.com"' in page
    assert "Curious.\nFollows rabbits." in page
    alice = stored_user(app, "alice")
    assert (alice.display_name, alice.email) == ("Alice Liddell", "alice@example.com")


def test_emptying_the_fields_clears_them(app, client, auth):
    auth.signup("alice")
    save_profile(client, display_name="Alice Liddell", email="alice@example.com", about="Hi")
    assert save_profile(client, display_name="", email="", about="").status_code == 303
    alice = stored_user(app, "alice")
    assert (alice.display_name, alice.email, alice.about) == ("", "", "")
    assert "<h1><bdi>alice</bdi></h1>" in text(client.get("/chat/users/alice/"))


@pytest.mark.parametrize("email", ["not-an-email", "alice@localhost", "alice smith@example.com"])
def test_an_invalid_email_is_refused_in_place_and_changes_nothing(app, client, auth, email):
    auth.signup("alice")
    response = save_profile(client, email=email, display_name="Alice Liddell")
    assert response.status_code == 422
    page = text(response)
    assert 'id="profile-form"' in page
    assert '<ul class="errors" id="email-errors">' in page
    assert "That is not an email address." in page
    alice = stored_user(app, "alice")
    assert (alice.email, alice.display_name) == ("", "")


def test_a_huge_email_is_refused_for_its_length_without_stalling_the_server(app, client, auth):
    auth.signup("alice")
    started = time.monotonic()
    response = save_profile(client, email="a@" + "." * 100_000 + "@")
    assert time.monotonic() - started < 1
    # Over the cap on one form field: refused before any validator reads it.
    assert response.status_code == 413
    assert stored_user(app, "alice").email == ""
    started = time.monotonic()
    response = save_profile(client, email="a@" + "." * 16_000 + "@")
    assert time.monotonic() - started < 1
    assert response.status_code == 422
    assert "An email address has at most 254 characters." in text(response)
    assert "That is not an email address." not in text(response)


@pytest.mark.parametrize(
    ("email", "link"),
    [
        ("a?cc=victim@evil.example", "mailto:a%3Fcc%3Dvictim@evil.example"),
        ("x&body=click#me@example.org", "mailto:x%26body%3Dclick%23me@example.org"),
        ("100%@example.org", "mailto:100%25@example.org"),
    ],
)
def test_an_email_with_url_syntax_links_to_that_one_address(app, client, auth, email, link):
    auth.signup("alice")
    assert save_profile(client, email=email).status_code == 303
    page = text(signed_up(app, "bob").get("/chat/users/alice/"))
    assert f'href="{link}"' in page
    target = urlsplit(link)
    assert (target.query, target.fragment, unquote(target.path)) == ("", "", email)


@pytest.mark.parametrize("email", ["alice@example.org?subject=hi", "alice@example.org#x"])
def test_url_syntax_after_the_at_sign_is_refused(app, client, auth, email):
    auth.signup("alice")
    response = save_profile(client, email=email)
    assert response.status_code == 422
    assert "That is not an email address." in text(response)


def test_spaces_around_display_name_and_email_are_dropped(app, client, auth):
    auth.signup("alice")
    response = save_profile(client, display_name="   ", email="alice@example.com\n")
    assert response.status_code == 303
    alice = stored_user(app, "alice")
    assert (alice.display_name, alice.email) == ("", "alice@example.com")
    assert '<a href="/chat/users/alice/"><bdi>alice</bdi></a>' in text(client.get("/chat/users/"))


@pytest.mark.parametrize(
    ("field", "length", "message"),
    [
        ("display_name", 65, "Field cannot be longer than 64 characters."),
        ("about", 2001, "Field cannot be longer than 2000 characters."),
    ],
)
def test_overlong_profile_text_is_refused(app, client, auth, field, length, message):
    auth.signup("alice")
    response = save_profile(client, **{field: "x" * length})
    assert response.status_code == 422
    assert message in text(response)
    assert getattr(stored_user(app, "alice"), field) == ""


# Changing my username


def test_changing_to_a_free_name_renames_me_and_the_old_name_is_gone(app, client, auth):
    auth.signup("alice")
    response = save_profile(client, username="alicia")
    assert response.status_code == 303
    assert "<h1><bdi>alicia</bdi></h1>" in text(client.get("/chat/users/alicia/"))
    assert client.get("/chat/users/alice/").status_code == 404
    assert "Log out <bdi>alicia</bdi>" in text(client.get("/chat/profile/"))
    assert stored_user(app, "alice") is None
    assert logs_in(app, "alicia", PASSWORD)


def test_a_name_taken_in_another_case_is_refused_and_changes_nothing(app, client, auth):
    signed_up(app, "bob")
    auth.signup("alice")
    response = save_profile(client, username="BOB", display_name="Bobby")
    assert response.status_code == 422
    assert "That name is taken." in text(response)
    alice = stored_user(app, "alice")
    assert (alice.username, alice.display_name) == ("alice", "")
    assert stored_user(app, "bob").username == "bob"


def test_changing_only_the_letter_case_of_my_name_works(app, client, auth):
    auth.signup("alice")
    assert save_profile(client, username="Alice").status_code == 303
    assert stored_user(app, "alice").username == "Alice"
    assert "<h1><bdi>Alice</bdi></h1>" in text(client.get("/chat/users/alice/"))


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "A name is required"),
        ("x" * 65, "That name is too long"),
        ("../x", "Only 1 to 64"),
        ("a b", "Only 1 to 64"),
        ("a\u200bb", "That name has invisible characters"),
        ("a/b", "Only 1 to 64"),
        ("a.b", "Only 1 to 64"),
    ],
)
def test_an_invalid_new_name_is_refused(app, client, auth, username, message):
    auth.signup("alice")
    response = save_profile(client, username=username)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert NAME_RULE in page
    assert stored_user(app, "alice").username == "alice"


def test_a_cyrillic_name_is_accepted(app, client, auth):
    auth.signup("alice")
    assert save_profile(client, username="Мария").status_code == 303
    assert stored_user(app, "мария").username == "Мария"
    page = text(client.get("/chat/users/" + quote("мария") + "/"))
    assert "<h1><bdi>Мария</bdi></h1>" in page


def test_a_new_name_is_stored_in_nfc(app, client, auth):
    auth.signup("alice")
    decomposed = "Йоко".replace("Й", "И\u0306")
    assert save_profile(client, username=decomposed).status_code == 303
    assert stored_user(app, "Йоко").username == "Йоко"


# Avatars


def test_an_uploaded_avatar_is_stored_as_webp_fitting_300_square(app, client, auth):
    auth.signup("alice")
    assert upload_avatar(client, image_file(1000, 500)).status_code == 303
    url = avatar_url(client)
    image = served_image(client, url)
    assert image.format == "WEBP"
    assert image.size == (300, 150)
    digest = hashlib.sha256(client.get(url).data).hexdigest()[:16]
    assert url.endswith(f"/{digest}.webp")
    assert stored_user(app, "alice").avatar_digest == digest


def test_the_profile_page_shows_the_avatar_after_upload(app, client, auth):
    auth.signup("alice")
    assert avatar_url(client) is None
    upload_avatar(client, image_file())
    url = avatar_url(client)
    assert f'<img class="avatar avatar-l" alt="" src="{url}">' in text(
        signed_up(app, "bob").get("/chat/users/alice/")
    )


def test_a_small_avatar_is_not_enlarged(client, auth):
    auth.signup("alice")
    upload_avatar(client, image_file(40, 20))
    assert served_image(client, avatar_url(client)).size == (40, 20)


@pytest.mark.parametrize(
    ("image_format", "mode", "color", "filename", "has_alpha"),
    [
        ("PNG", "RGBA", (0, 128, 128, 100), "me.png", True),
        ("PNG", "RGBA", "teal", "me.png", False),
        ("PNG", "L", "teal", "me.png", False),
        ("JPEG", "RGB", "teal", "me.jpg", False),
        ("JPEG", "CMYK", "teal", "me.jpeg", False),
        ("GIF", "P", "teal", "me.gif", False),
        ("WEBP", "RGBA", (0, 128, 128, 100), "me.webp", True),
        ("BMP", "RGB", "teal", "me.bmp", False),
        ("TIFF", "RGB", "teal", "me.tiff", False),
    ],
)
def test_avatars_in_common_formats_become_webp(
    client, auth, image_format, mode, color, filename, has_alpha
):
    auth.signup("alice")
    # Under 500 KB: the test client spools bigger bodies to a file it never closes.
    content = image_file(400, 400, image_format, mode, color)
    assert upload_avatar(client, content, filename).status_code == 303
    image = served_image(client, avatar_url(client))
    assert (image.format, image.size) == ("WEBP", (300, 300))
    assert (image.mode == "RGBA") is has_alpha


def test_the_avatar_is_cached_for_good_under_its_digest(client, auth):
    auth.signup("alice")
    upload_avatar(client, image_file())
    response = client.get(avatar_url(client))
    cache_control = response.headers["Cache-Control"]
    assert "immutable" in cache_control
    assert "max-age=31536000" in cache_control


def test_a_new_avatar_gets_a_new_url_and_the_old_one_is_gone(client, auth):
    auth.signup("alice")
    upload_avatar(client, image_file(color="red"))
    old_url = avatar_url(client)
    upload_avatar(client, image_file(color="blue"))
    new_url = avatar_url(client)
    assert new_url != old_url
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200


def test_an_avatar_url_with_a_wrong_digest_is_404(client, auth):
    auth.signup("alice")
    upload_avatar(client, image_file())
    url = avatar_url(client)
    wrong = re.sub(r"[0-9a-f]{16}", "0" * 16, url)
    response = client.get(wrong)
    assert response.status_code == 404
    assert "404 Not Found" in text(response)
    assert client.get(re.sub(r"/avatars/\d+/", "/avatars/999/", url)).status_code == 404


def test_a_user_without_avatar_shows_an_initial_and_has_no_image(client, auth):
    name = "мария"
    auth.signup(name)
    page = text(client.get("/chat/users/" + quote(name) + "/"))
    assert f'avatar-initial" aria-hidden="true">{name[0].upper()}</span>' in page
    assert "<img" not in page


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.png", b"These are my notes, not a picture.\n", "not an image we can read"),
        ("empty.png", b"", "not an image we can read"),
        ("page.png", image_file(40, 20, "PDF"), "not an image we can read"),
        ("drawing.png", image_file(40, 20, "EPS", "L"), "not an image we can read"),
        ("notes.txt", image_file(), "Upload an image: PNG, JPEG, GIF or WebP."),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_and_the_old_avatar_stays(
    app, client, auth, filename, content, message
):
    auth.signup("alice")
    upload_avatar(client, image_file())
    old_url = avatar_url(client)
    response = save_profile(client, avatar_file=(filename, content), display_name="Changed")
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert '<ul class="errors" id="avatar_file-errors">' in page
    assert avatar_url(client) == old_url
    assert client.get(old_url).status_code == 200
    assert stored_user(app, "alice").display_name == ""


def test_an_image_over_the_size_limit_is_refused_and_nothing_changes(app, client, auth):
    app.config["MAX_AVATAR_BYTES"] = 2048
    auth.signup("alice")
    noise = Image.effect_noise((64, 64), 100).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 2048
    response = save_profile(client, avatar_file=("noise.png", out.getvalue()), about="Hi")
    assert response.status_code == 422
    assert "That image is over 2 KB." in text(response)
    alice = stored_user(app, "alice")
    assert (alice.avatar_digest, alice.about) == (None, "")


def test_an_upload_over_the_request_limit_says_how_big_an_image_may_be(app, client, auth):
    app.config["MAX_AVATAR_BYTES"] = 10 * 1024
    app.config["MAX_UPLOAD_BYTES"] = 20 * 1024
    auth.signup("alice")
    noise = Image.effect_noise((128, 128), 100).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 20 * 1024
    response = save_profile(client, avatar_file=("noise.png", out.getvalue()), about="Hi")
    assert response.status_code == 413
    page = text(response)
    assert "That upload is too large: images of up to 10 KB are accepted." in page
    assert "Nothing was changed." in page
    alice = stored_user(app, "alice")
    assert (alice.avatar_digest, alice.about) == (None, "")


def test_an_image_with_too_many_pixels_is_refused(app, client, auth):
    app.config["MAX_AVATAR_PIXELS"] = 100 * 100
    auth.signup("alice")
    response = upload_avatar(client, image_file(101, 100))
    assert response.status_code == 422
    assert "That image has too many pixels." in text(response)
    assert stored_user(app, "alice").avatar_digest is None
    assert upload_avatar(client, image_file(100, 100)).status_code == 303


def test_a_decompression_bomb_is_refused_for_its_pixels(app, client, auth):
    auth.signup("alice")
    # 200 million one-bit pixels: a small file, but Pillow's own limit trips before ours.
    response = upload_avatar(client, image_file(20_000, 10_000, mode="1", color=0))
    assert response.status_code == 422
    assert "That image has too many pixels." in text(response)
    assert stored_user(app, "alice").avatar_digest is None


def test_removing_my_avatar_brings_back_the_initial(app, client, auth):
    auth.signup("alice")
    upload_avatar(client, image_file())
    old_url = avatar_url(client)
    assert "Remove my avatar" in text(client.get("/chat/profile/"))
    assert save_profile(client, drop_avatar="y").status_code == 303
    page = text(client.get("/chat/profile/"))
    assert avatar_url(client) is None
    assert 'avatar-initial" aria-hidden="true">A</span>' in page
    assert "Remove my avatar" not in page
    assert client.get(old_url).status_code == 404
    assert stored_user(app, "alice").avatar_digest is None


def test_a_jpeg_is_turned_upright_by_its_exif_orientation(client, auth):
    auth.signup("alice")
    # Stored sideways: the left half is red, and orientation 6 says "turn 90 degrees clockwise".
    sideways = Image.new("RGB", (200, 100), "blue")
    sideways.paste("red", (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif)
    upload_avatar(client, out.getvalue(), "photo.jpg")
    image = served_image(client, avatar_url(client)).convert("RGB")
    assert image.size == (100, 200)
    top, bottom = image.getpixel((50, 20)), image.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


# Changing my password


def test_a_wrong_current_password_is_refused_and_changes_nothing(app, client, auth):
    auth.signup("alice")
    response = change_password(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 401
    page = text(response)
    assert 'id="password-form"' in page
    assert "Wrong password." in page
    assert logs_in(app, "alice", PASSWORD)
    assert not logs_in(app, "alice", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The passwords differ."),
        ("short", "short", "Use at least 8 characters."),
        ("", "", "This field is required."),
    ],
)
def test_a_bad_new_password_is_refused(app, client, auth, password, confirm, message):
    auth.signup("alice")
    response = change_password(client, PASSWORD, password, confirm)
    assert response.status_code == 422
    assert message in text(response)
    assert logs_in(app, "alice", PASSWORD)


def test_a_changed_password_works_and_the_old_one_does_not(app, client, auth):
    auth.signup("alice")
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/profile/"
    assert "Password changed." in text(client.get("/chat/profile/"))
    assert logs_in(app, "alice", NEW_PASSWORD)
    assert not logs_in(app, "alice", PASSWORD)


def test_changing_my_password_logs_out_my_other_sessions_only(app, client, auth):
    other_browser = signed_up(app, "alice")
    auth.login("alice")
    assert other_browser.get("/chat/room/").status_code == 200
    change_password(client, PASSWORD, NEW_PASSWORD)
    kicked_out = other_browser.get("/chat/room/")
    assert kicked_out.status_code == 302
    assert kicked_out.headers["Location"].startswith("/chat/login/")
    still_in = client.get("/chat/room/")
    assert still_in.status_code == 200
    assert "Log out <bdi>alice</bdi>" in text(still_in)


def test_changing_my_password_logs_this_session_in_as_the_real_user(app, client, auth):
    auth.signup("alice")
    logged_in = []

    def remember(sender, user):
        logged_in.append(user.username)

    with user_logged_in.connected_to(remember, app):
        assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 303
    assert logged_in == ["alice"]


@pytest.mark.parametrize(
    ("check_password", "form_id"),
    [
        (lambda c, password: change_password(c, password, NEW_PASSWORD), "password-form"),
        (lambda c, password: delete_account(c, password), "delete-form"),
    ],
    ids=["change password", "delete account"],
)
def test_guessing_my_password_from_a_session_is_limited_like_logging_in(
    app, client, auth, check_password, form_id
):
    auth.signup("alice")
    for _ in range(5):
        assert check_password(client, "a guess").status_code == 401
    response = check_password(client, PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 300
    page = text(response)
    assert f'id="{form_id}"' in page
    assert "Too many failed attempts. Try again in" in page
    assert stored_user(app, "alice").check_password(PASSWORD)
    assert AuthActions(app.test_client()).login("alice").status_code == 429


# Deleting my account


def test_deleting_with_a_wrong_password_keeps_the_account(app, client, auth):
    auth.signup("alice")
    response = delete_account(client, "not my password")
    assert response.status_code == 401
    page = text(response)
    assert 'id="delete-form"' in page and "Wrong password." in page
    assert stored_user(app, "alice") is not None
    assert client.get("/chat/profile/").status_code == 200


def test_deleting_my_account_logs_me_out_and_frees_my_name(app, client, auth):
    other_browser = signed_up(app, "alice")
    auth.login("alice")
    old_id = stored_user(app, "alice").id
    response = delete_account(client, PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/login/"
    assert "Your account was deleted." in text(client.get("/chat/login/"))
    assert client.get("/chat/profile/").status_code == 302
    assert other_browser.get("/chat/room/").status_code == 302
    assert signed_up(app, "bob").get("/chat/users/alice/").status_code == 404
    assert stored_user(app, "alice") is None
    assert auth.signup("alice", NEW_PASSWORD).status_code == 303
    assert stored_user(app, "alice").id != old_id
    assert "Edit my profile" in text(client.get("/chat/users/alice/"))


# htmx and CSRF


@pytest.mark.parametrize(
    ("send", "form_id", "status", "message"),
    [
        (
            lambda c: save_profile(c, email="nope", headers=HTMX),
            "profile-form",
            422,
            "That is not an email address.",
        ),
        (
            lambda c: change_password(c, "wrong password", NEW_PASSWORD, headers=HTMX),
            "password-form",
            401,
            "Wrong password.",
        ),
        (lambda c: delete_account(c, "", headers=HTMX), "delete-form", 422, "field is required"),
    ],
    ids=["profile", "password", "delete"],
)
def test_htmx_gets_only_the_form_back_with_its_errors(client, auth, send, form_id, status, message):
    auth.signup("alice")
    response = send(client)
    assert response.status_code == status
    page = text(response)
    assert page.lstrip().startswith(f'<form id="{form_id}"')
    assert "<html" not in page
    assert message in page


def test_htmx_is_told_where_to_go_after_saving_the_profile(app, client, auth):
    auth.signup("alice")
    response = save_profile(client, display_name="Alice Liddell", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/chat/profile/"
    assert response.data == b""
    assert stored_user(app, "alice").display_name == "Alice Liddell"


def test_htmx_may_send_the_csrf_token_as_a_header(app, client, auth):
    auth.signup("alice")
    token = form_token(client, "/chat/profile/")
    response = client.post(
        "/chat/profile/",
        data={"about": "Sent by htmx"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert response.headers["HX-Redirect"] == "/chat/profile/"
    assert stored_user(app, "alice").about == "Sent by htmx"


@pytest.mark.parametrize(
    "action", ["/chat/profile/", "/chat/profile/password", "/chat/profile/delete"]
)
def test_a_form_without_csrf_token_is_refused_and_changes_nothing(app, client, auth, action):
    auth.signup("alice")
    response = client.post(
        action,
        data={
            "username": "mallory",
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "confirm_password": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "This form is missing its security token" in text(response)
    alice = stored_user(app, "alice")
    assert alice is not None and alice.check_password(PASSWORD)
    assert stored_user(app, "mallory") is None
