"""Presence: arrivals, leaving after a grace, and colours no two present people share."""

import threading

from chatapp.live.presence import LocalPresence

GRACE = 0.05


def leave_and_wait(presence, room_id, user_id):
    """Close a socket and wait out the grace; return whether the user was let go."""
    left = threading.Event()
    presence.depart(room_id, user_id, left.set)
    return left.wait(GRACE * 20)


def test_the_first_socket_is_an_arrival_and_the_second_is_not():
    presence = LocalPresence(GRACE)
    assert presence.arrive(1, 7).is_new
    assert not presence.arrive(1, 7).is_new
    assert presence.arrive(2, 7).is_new


def test_a_user_leaves_once_their_last_socket_has_been_closed_for_the_grace():
    presence = LocalPresence(GRACE)
    presence.arrive(1, 7)
    presence.arrive(1, 7)
    presence.depart(1, 7, lambda: None)
    assert presence.in_room(1) == {7: 0}
    assert leave_and_wait(presence, 1, 7)
    assert presence.in_room(1) == {}


def test_coming_back_within_the_grace_is_neither_leaving_nor_arriving():
    presence = LocalPresence(GRACE * 4)
    presence.arrive(1, 7)
    left = threading.Event()
    presence.depart(1, 7, left.set)
    assert not presence.arrive(1, 7).is_new
    assert not left.wait(GRACE * 8)
    assert presence.in_room(1) == {7: 0}


def test_people_present_at_once_get_different_colours():
    presence = LocalPresence(GRACE, palette_size=3)
    colours = [presence.arrive(1, user_id).color for user_id in (10, 11, 12)]
    assert sorted(colours) == [0, 1, 2]
    assert presence.arrive(2, 10).color == colours[0]


def test_a_colour_is_kept_while_present_anywhere_and_freed_after():
    presence = LocalPresence(GRACE, palette_size=3)
    first = presence.arrive(1, 10).color
    presence.arrive(2, 10)
    assert leave_and_wait(presence, 1, 10)
    assert presence.color_of(10) == first
    assert leave_and_wait(presence, 2, 10)
    assert presence.arrive(1, 11).color == first


def test_when_the_palette_is_used_up_colours_repeat_rather_than_fail():
    presence = LocalPresence(GRACE, palette_size=2)
    presence.arrive(1, 10)
    presence.arrive(1, 11)
    assert presence.arrive(1, 12).color == 12 % 2
