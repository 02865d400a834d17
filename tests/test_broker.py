"""The in-process broker: the same frame to every inbox of a channel, and nowhere else."""

from chatapp.broker import Close, Frame, Inbox, LocalBroker, room_channel, user_channel


def test_every_subscriber_of_a_channel_gets_the_same_frame():
    broker = LocalBroker()
    inboxes = [broker.subscribe([room_channel(1)]) for _ in range(3)]
    elsewhere = broker.subscribe([room_channel(2)])
    frame = Frame("<p>hi</p>", message_id=5)
    broker.publish(room_channel(1), frame)
    assert all(inbox.get(timeout=0) is frame for inbox in inboxes)
    assert elsewhere.get(timeout=0) is None


def test_an_inbox_hears_all_its_channels_in_order():
    broker = LocalBroker()
    inbox = broker.subscribe([room_channel(1), user_channel(9)])
    broker.publish(room_channel(1), Frame("a"))
    broker.publish(user_channel(9), Close(1008))
    broker.publish(room_channel(1), Frame("b"))
    assert [inbox.get(timeout=0) for _ in range(3)] == [Frame("a"), Close(1008), Frame("b")]


def test_an_unsubscribed_inbox_hears_nothing_more():
    broker = LocalBroker()
    inbox = broker.subscribe([room_channel(1)])
    broker.unsubscribe(inbox)
    broker.publish(room_channel(1), Frame("a"))
    assert inbox.get(timeout=0) is None


def test_a_frame_with_an_audience_is_for_those_users_only():
    frame = Frame("secret", audience=frozenset({1, 2}))
    assert frame.is_for(1) and frame.is_for(2)
    assert not frame.is_for(3)
    assert Frame("open").is_for(3)


def test_a_close_order_names_a_room_or_a_session_or_everything():
    assert Close(1008).applies_to(room_id=4, session_id="s")
    assert Close(1008, room_id=4).applies_to(room_id=4, session_id="s")
    assert not Close(1008, room_id=5).applies_to(room_id=4, session_id="s")
    assert not Close(1008, session_id="t").applies_to(room_id=4, session_id="s")


def test_an_inbox_too_far_behind_drops_frames_and_asks_to_catch_up():
    inbox = Inbox([room_channel(1)], limit=2)
    for text in "abc":
        inbox.deliver(Frame(text))
    assert inbox.overflowed
    inbox.put(Close(1012))
    inbox.catch_up()
    assert not inbox.overflowed
    assert inbox.get(timeout=0) == Close(1012)
    assert inbox.get(timeout=0) is None


def test_close_all_reaches_every_inbox_even_a_full_one():
    broker = LocalBroker()
    inboxes = [broker.subscribe([room_channel(n)]) for n in range(3)]
    broker.close_all(Close(1012))
    assert [inbox.get(timeout=0) for inbox in inboxes] == [Close(1012)] * 3


def test_an_inbox_opened_after_close_all_is_closed_at_once():
    broker = LocalBroker()
    broker.close_all(Close(1012))
    late = broker.subscribe([room_channel(1)])
    assert late.get(timeout=0) == Close(1012)


def test_a_close_order_can_spare_one_session():
    close = Close(1008, keep_session_id="mine")
    assert close.applies_to(room_id=4, session_id="theirs")
    assert not close.applies_to(room_id=4, session_id="mine")
