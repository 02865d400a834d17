"""Every input has a size and a cost: pathological values are refused at once, whole."""

import io
import time

from sqlalchemy import event

from chatapp.extensions import db
from chatapp.forms import MAX_INVITEES
from tests.support import create_room, form_token, signed_up, stored_user, submit, text

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
