"""Messages through the API: pages of them, sending, flood limits, read marks, announcements."""

import pytest

from chatapp.live.broker import SITE_CHANNEL, Inbox, get_broker
from tests.api.support import error_of, program
from tests.support import make_admin


@pytest.fixture
def kitchen(app):
    """alice owns kitchen with bob and carol in it; (alice, bob, carol) as programs."""
    people = [program(app, name) for name in ("alice", "bob", "carol")]
    alice, *guests = people
    assert alice.post("/rooms", {"name": "kitchen", "invite": ["bob", "carol"]}).status_code == 201
    for guest in guests:
        [invitation] = guest.get("/invitations").get_json()["invitations"]
        guest.post(f"/invitations/{invitation['id']}/accept")
    return people


def bodies(response):
    """The bodies of the messages in a response, in its order."""
    return [message["body"] for message in response.get_json()["messages"]]


def test_a_sent_message_comes_back_whole_and_is_listed_and_logged(app, kitchen):
    alice, bob, _ = kitchen
    response = bob.post("/rooms/kitchen/messages", {"body": "  <b>hello</b>\r\nthere "})
    assert response.status_code == 201
    message = response.get_json()
    assert message["room"] == "kitchen" and message["author"] == "bob"
    assert message["recipient"] is None and message["body"] == "<b>hello</b>\nthere"
    assert message["created_at"].endswith("Z") and "T" in message["created_at"]
    assert alice.get("/rooms/kitchen/messages").get_json()["messages"] == [message]
    log = (app.config["LOG_DIR"] + "/chatroomkitchen.txt").replace("//", "/")
    with open(log, encoding="utf-8") as file:
        assert file.read().endswith(" bob: <b>hello</b>\\nthere\n")


def test_pages_come_oldest_first_before_or_after_an_id(kitchen):
    alice, _, _ = kitchen
    ids = [
        alice.post("/rooms/kitchen/messages", {"body": f"m{n}"}).get_json()["id"] for n in range(6)
    ]
    assert bodies(alice.get("/rooms/kitchen/messages")) == [f"m{n}" for n in range(6)]
    assert bodies(alice.get("/rooms/kitchen/messages?limit=2")) == ["m4", "m5"]
    assert bodies(alice.get(f"/rooms/kitchen/messages?before={ids[4]}&limit=2")) == ["m2", "m3"]
    assert bodies(alice.get(f"/rooms/kitchen/messages?after={ids[1]}&limit=2")) == ["m2", "m3"]
    assert bodies(alice.get(f"/rooms/kitchen/messages?after={ids[5]}")) == []


def test_a_personal_message_reaches_only_its_two_people(kitchen):
    alice, bob, carol = kitchen
    response = alice.post("/rooms/kitchen/messages", {"body": "psst", "to": "BOB"})
    assert response.status_code == 201
    assert response.get_json()["recipient"] == "bob"
    assert bodies(bob.get("/rooms/kitchen/messages")) == ["psst"]
    assert bodies(alice.get("/rooms/kitchen/messages")) == ["psst"]
    assert bodies(carol.get("/rooms/kitchen/messages")) == []
    assert carol.get("/messages/latest").get_json()["messages"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"body": "   "}, "Type a message first."),
        ({"body": "x" * 4001}, "That message is 4001 characters long; the limit is 4000."),
        ({"body": "hi", "to": "nobody"}, "nobody is not a member of this room."),
        ({"body": "hi", "to": "alice"}, "A personal message goes to someone else."),
    ],
)
def test_a_refused_message_says_why_and_is_not_saved(kitchen, body, message):
    alice, _, _ = kitchen
    response = alice.post("/rooms/kitchen/messages", body)
    assert response.status_code == 422
    code, text = error_of(response)
    assert code == "message_refused" and text.startswith(message)
    assert bodies(alice.get("/rooms/kitchen/messages")) == []


def test_sending_too_fast_is_told_when_to_try_again(make_app):
    app = make_app(FLOOD_LIMIT="2/10s")
    alice = program(app, "alice")
    alice.post("/rooms", {"name": "kitchen"})
    sent = [alice.post("/rooms/kitchen/messages", {"body": f"m{n}"}) for n in range(3)]
    assert [response.status_code for response in sent] == [201, 201, 429]
    assert error_of(sent[2])[0] == "too_fast"
    assert 1 <= int(sent[2].headers["Retry-After"]) <= 10
    assert bodies(alice.get("/rooms/kitchen/messages")) == ["m0", "m1"]


def test_the_latest_message_of_each_of_my_rooms(kitchen):
    alice, bob, _ = kitchen
    alice.post("/rooms", {"name": "hall"})
    alice.post("/rooms/hall/messages", {"body": "in the hall"})
    bob.post("/rooms/kitchen/messages", {"body": "first"})
    bob.post("/rooms/kitchen/messages", {"body": "second"})
    latest = alice.get("/messages/latest").get_json()["messages"]
    assert [(m["room"], m["body"]) for m in latest] == [
        ("hall", "in the hall"),
        ("kitchen", "second"),
    ]
    assert [m["room"] for m in bob.get("/messages/latest").get_json()["messages"]] == ["kitchen"]


def test_unread_counts_follow_messages_and_read_marks(kitchen):
    alice, bob, carol = kitchen
    ids = [
        bob.post("/rooms/kitchen/messages", {"body": f"m{n}"}).get_json()["id"] for n in range(3)
    ]
    assert alice.get("/unread").get_json() == {
        "total": 3,
        "rooms": [{"room": "kitchen", "unread": 3}],
    }
    assert bob.get("/unread").get_json()["total"] == 0
    response = alice.post("/rooms/kitchen/read", {"id": ids[1]})
    assert response.get_json() == {"room": "kitchen", "unread": 1}
    assert alice.get("/rooms/kitchen").get_json()["unread"] == 1
    # Only forward: a stale mark leaves the count alone.
    assert alice.post("/rooms/kitchen/read", {"id": ids[0]}).get_json()["unread"] == 1
    assert alice.post("/rooms/kitchen/read", {"id": 10**9}).get_json()["unread"] == 0
    assert carol.get("/unread").get_json()["total"] == 3


def test_an_admin_announces_to_everyone_connected(app, kitchen):
    alice, bob, _ = kitchen
    make_admin(app, "alice")
    with app.app_context():
        inbox = Inbox()
        get_broker().subscribe(inbox, [SITE_CHANNEL])
    response = alice.post("/announcements", {"text": " <i>Lunch</i> at noon "})
    assert response.status_code == 204
    frame = inbox.get(timeout=1)
    assert "&lt;i&gt;Lunch&lt;/i&gt; at noon" in frame.html and "<i>" not in frame.html
    refused = bob.post("/announcements", {"text": "me too"})
    assert refused.status_code == 403
    assert inbox.get(timeout=0.2) is None
