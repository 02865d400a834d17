"""The in-process broker: the same frame to every subscriber of a channel, and nowhere else."""

import json

from wsproto.frame_protocol import FrameProtocol, Opcode

from chatapp.live.broker import (
    Close,
    Frame,
    Inbox,
    LocalBroker,
    TokenRevoked,
    room_channel,
    user_channel,
)
from chatapp.live.redis_broker import decode, encode


def subscribed(broker, *channels):
    """A new inbox that hears the channels."""
    inbox = Inbox()
    broker.subscribe(inbox, channels)
    return inbox


def test_every_subscriber_of_a_channel_gets_the_same_frame():
    broker = LocalBroker()
    inboxes = [subscribed(broker, room_channel(1)) for _ in range(3)]
    elsewhere = subscribed(broker, room_channel(2))
    frame = Frame("<p>hi</p>", message_id=5)
    broker.publish(room_channel(1), frame)
    assert all(inbox.get(timeout=0) is frame for inbox in inboxes)
    assert elsewhere.get(timeout=0) is None


def test_a_subscriber_hears_all_its_channels_in_order():
    broker = LocalBroker()
    inbox = subscribed(broker, room_channel(1), user_channel(9))
    a, b = Frame("a"), Frame("b")
    broker.publish(room_channel(1), a)
    broker.publish(user_channel(9), Close(1008))
    broker.publish(room_channel(1), b)
    assert [inbox.get(timeout=0) for _ in range(3)] == [a, Close(1008), b]


def test_an_unsubscribed_inbox_hears_nothing_more():
    broker = LocalBroker()
    inbox = subscribed(broker, room_channel(1))
    broker.unsubscribe(inbox, [room_channel(1)])
    broker.publish(room_channel(1), Frame("a"))
    assert inbox.get(timeout=0) is None


def test_a_frame_with_an_audience_is_for_those_users_only():
    frame = Frame("secret", audience=frozenset({1, 2}))
    assert frame.is_for(1) and frame.is_for(2)
    assert not frame.is_for(3)
    assert Frame("open").is_for(3)


def test_a_frame_is_encoded_once_as_a_websocket_text_message():
    frame = Frame("<p>héllo</p>" * 20_000)
    assert frame.wire is frame.wire
    reader = FrameProtocol(client=True, extensions=[])
    reader.receive_bytes(frame.wire)
    [received] = list(reader.received_frames())
    assert received.opcode is Opcode.TEXT and received.message_finished
    assert received.payload == frame.html


def test_a_close_order_names_a_room_or_a_session_or_everything():
    assert Close(1008).applies_to(room_id=4, session_id="s")
    assert Close(1008, room_id=4).applies_to(room_id=4, session_id="s")
    assert not Close(1008, room_id=5).applies_to(room_id=4, session_id="s")
    assert not Close(1008, session_id="t").applies_to(room_id=4, session_id="s")


def test_an_inbox_too_far_behind_drops_frames_but_never_a_close_order():
    inbox = Inbox(limit=2)
    for text in "abc":
        inbox.deliver(Frame(text))
    assert inbox.overflowed
    inbox.deliver(Close(1012))
    inbox.catch_up()
    assert not inbox.overflowed
    assert inbox.get(timeout=0) == Close(1012)
    assert inbox.get(timeout=0) is None


def test_close_all_reaches_every_subscriber_even_a_full_one():
    broker = LocalBroker()
    inboxes = [subscribed(broker, room_channel(n)) for n in range(3)]
    full = Inbox(limit=1)
    broker.subscribe(full, [room_channel(9)])
    for text in "ab":
        broker.publish(room_channel(9), Frame(text))
    broker.close_all(Close(1012))
    assert [inbox.get(timeout=0) for inbox in inboxes] == [Close(1012)] * 3
    full.catch_up()
    assert full.get(timeout=0) == Close(1012)


def test_a_subscriber_that_comes_after_close_all_is_closed_at_once():
    broker = LocalBroker()
    broker.close_all(Close(1012))
    late = subscribed(broker, room_channel(1))
    assert late.get(timeout=0) == Close(1012)


def test_a_close_order_can_spare_one_session():
    close = Close(1008, keep_session_id="mine")
    assert close.applies_to(room_id=4, session_id="theirs")
    assert not close.applies_to(room_id=4, session_id="mine")


def test_a_frame_with_data_alone_reaches_programs_and_no_page():
    frame = Frame(None, audience=frozenset({1}), data={"type": "member", "room": "kitchen"})
    assert not frame.is_for(1)
    assert frame.may_see(1) and not frame.may_see(2)
    assert Frame("<p>hi</p>", data={"type": "typing"}).is_for(3)


def test_a_frames_data_is_encoded_once_as_a_websocket_text_message():
    frame = Frame("<p>hi</p>", data={"type": "message", "body": "héllo <b>"})
    assert frame.json_wire is frame.json_wire
    reader = FrameProtocol(client=True, extensions=[])
    reader.receive_bytes(frame.json_wire)
    [received] = list(reader.received_frames())
    assert received.opcode is Opcode.TEXT and received.message_finished
    assert json.loads(received.payload) == frame.data


def test_what_redis_carries_keeps_a_frames_data_and_a_revocation():
    frame = Frame("<p>hi</p>", 7, frozenset({1, 2}), "rooms", {"type": "room_deleted", "room": "a"})
    origin, carried = decode(encode(frame, "here"))
    assert origin == "here"
    assert (carried.html, carried.message_id, carried.audience, carried.event, carried.data) == (
        "<p>hi</p>",
        7,
        frozenset({1, 2}),
        "rooms",
        {"type": "room_deleted", "room": "a"},
    )
    assert decode(encode(TokenRevoked(12), "here")) == ("here", TokenRevoked(12))
