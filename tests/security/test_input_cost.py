"""Every input has a size and a cost: pathological values are refused at once, whole."""

import io
import threading
import time

import pytest
from sqlalchemy import event

from chatapp.extensions import db
from chatapp.forms import MAX_INVITEES
from tests.live import live_server, upload_avatar
from tests.support import (
    at_once,
    create_room,
    form_token,
    signed_up,
    stored_user,
    submit,
    text,
)

# Quadratic for a backtracking email pattern: 2.75 s of CPU, every socket of the worker stalled.
DOTS = "a@" + "." * 16_000 + "@"


def save_profile(client, **fields):
    """Send the profile form as a browser does (multipart, for the avatar)."""
    return submit(client, "/chat/profile/", fields, content_type="multipart/form-data")


def timed(action):
    """(result, seconds) of an action."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def test_a_pathological_email_is_refused_at_once(app):
    alice = signed_up(app, "alice")
    response, seconds = timed(lambda: save_profile(alice, email=DOTS, display_name="Alice"))
    assert response.status_code == 422
    assert "An email address has at most 254 characters." in text(response)
    assert seconds < 0.5
    assert stored_user(app, "alice").display_name == ""


def test_a_form_over_the_form_size_is_refused_before_it_is_read(app):
    alice = signed_up(app, "alice")
    body = "x" * (app.config["MAX_FORM_BYTES"] + 1)
    response = submit(alice, "/chat/room/", {"name": "kitchen", "invite": body})
    assert response.status_code == 413
    assert "That form is far larger than any of ours accepts." in text(response)
    assert "Nothing was changed." in text(response)
    assert "kitchen" not in text(alice.get("/chat/room/"))


def test_a_text_part_over_the_field_size_is_refused_even_on_the_upload_form(app):
    alice = signed_up(app, "alice")
    about = "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)
    response = save_profile(alice, about=about, display_name="Alice")
    assert response.status_code == 413
    assert stored_user(app, "alice").about == ""


def test_a_form_of_many_parts_is_refused(app):
    alice = signed_up(app, "alice")
    extra = {f"field{n}": "x" for n in range(app.config["MAX_FORM_PARTS"])}
    response = save_profile(alice, display_name="Alice", **extra)
    assert response.status_code == 413
    assert stored_user(app, "alice").display_name == ""


def test_the_upload_form_still_takes_an_image_larger_than_any_other_form(app):
    from PIL import Image

    alice = signed_up(app, "alice")
    noise = io.BytesIO()
    Image.effect_noise((400, 400), 100).convert("RGB").save(noise, "PNG")
    assert len(noise.getvalue()) > app.config["MAX_FORM_BYTES"]
    response = save_profile(alice, avatar_file=(io.BytesIO(noise.getvalue()), "noise.png"))
    assert response.status_code == 303
    assert stored_user(app, "alice").avatar_digest is not None


def test_more_invitees_than_the_cap_are_refused_with_a_clear_error(app):
    alice = signed_up(app, "alice")
    names = " ".join(f"guest{n}" for n in range(MAX_INVITEES + 1))
    response = create_room(alice, "kitchen", invite=names)
    assert response.status_code == 422
    assert f"Invite at most {MAX_INVITEES} people at once." in text(response)
    assert "kitchen" not in text(alice.get("/chat/room/lists"))


def test_invitees_are_loaded_in_one_query_and_named_once(app):
    alice = signed_up(app, "alice")
    names = [f"guest{n}" for n in range(MAX_INVITEES - 10)]
    for name in names:
        signed_up(app, name)
    typed = " ".join(names + [name.upper() for name in names[:10]])
    with app.app_context():
        engine = db.engine
    user_queries = []

    def count(_conn, _cursor, statement, *_):
        if statement.lstrip().startswith("SELECT") and "FROM users" in statement:
            user_queries.append(statement)

    form = {"csrf_token": form_token(alice, "/chat/room/"), "name": "kitchen", "invite": typed}
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = alice.post("/chat/room/", data=form)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 303
    # The session's own user is loaded once, the invitees once.
    assert len(user_queries) <= 2
    invited = text(alice.get("/chat/room/kitchen/edit/"))
    assert all(f"Revoke the invitation of {name}" in invited for name in names)


def gradient_png(width):
    """A PNG of width x width pixels that compresses to a few dozen kilobytes."""
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, width)).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_an_image_of_6300_square_is_refused_before_it_is_decoded(app):
    alice = signed_up(app, "alice")
    image = gradient_png(6300)
    assert len(image) < 200 * 1024
    response, seconds = timed(
        lambda: save_profile(alice, avatar_file=(io.BytesIO(image), "big.png"))
    )
    assert response.status_code == 422
    assert "That image has too many pixels." in text(response)
    assert seconds < 0.2
    assert app.config["MAX_AVATAR_PIXELS"] <= 4096 * 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server, as deployed: gunicorn with gevent."""
    with live_server(tmp_path_factory.mktemp("cost"), migrated_database) as running:
        yield running


def test_decoding_avatars_does_not_hold_up_other_requests(server):
    image = gradient_png(4096)
    uploaders = server.people("painter", "painter", "painter", "painter")
    idle = server.browser()
    started = threading.Event()

    def page_time():
        started.wait()
        time.sleep(0.1)
        _, seconds = timed(lambda: idle.get("/chat/login/"))
        return seconds

    def send(browser):
        started.set()
        return upload_avatar(browser, image)

    results = at_once(*(lambda b=b: send(b) for b in uploaders), page_time)
    # Each decode takes about 0.2 s of CPU: on the event loop, four of them would keep
    # the page waiting for most of a second.
    assert results[:-1] == [200] * len(uploaders)
    assert results[-1] < 0.25
