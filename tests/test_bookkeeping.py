"""The bookkeeper's arithmetic, and how its rounds make way for the sockets."""

import time

import pytest

from chatapp.bookkeeping import LONGEST_PAUSE_SECONDS, PassedOver, Steps, in_parts
from tests.support import run_under_gevent


def test_the_ids_passed_over_are_each_marks_span_after_its_old_mark_up_to_its_new():
    passed = PassedOver([(10, 20), (5, 8), (15, 30), (40, 41), (30, 32)])
    assert [each for each in range(50) if each in passed] == [*range(6, 9), *range(11, 33), 41]
    assert (passed.start, passed.end) == (5, 41)


def test_a_span_inside_another_passes_over_nothing_more():
    passed = PassedOver([(0, 100), (12, 14)])
    assert all(each in passed for each in range(1, 101))
    assert (0 in passed, 101 in passed, passed.end) == (False, False, 100)


def test_no_moves_pass_over_nothing():
    assert not PassedOver([])
    assert 1 not in PassedOver([])


@pytest.mark.parametrize("count, sizes", [(0, []), (40, [40]), (95, [40, 40, 15])])
def test_marks_are_saved_in_parts_that_keep_every_mark(count, sizes):
    marks = {(user % 3, user): user * 10 for user in range(count)}
    parts = in_parts(marks, 40)
    assert [len(part) for part in parts] == sizes
    assert {key: mark for part in parts for key, mark in part.items()} == marks


def test_under_gevent_a_pause_lets_a_socket_with_a_frame_waiting_act_at_once():
    printed = run_under_gevent(
        """
        import socket

        import gevent

        from chatapp.bookkeeping import give_way

        here, there = socket.socketpair()
        received = []
        gevent.spawn(lambda: received.append(here.recv(16)))
        gevent.sleep(0.01)  # the reader now waits for its socket
        there.send(b"a read frame")
        pauses = 0
        while not received and pauses < 100:
            give_way()
            pauses += 1
        print(pauses, received)
        """
    )
    # sleep(0) would let it wait all 100 times: gevent may resume the pausing greenlet
    # before it polls the sockets.
    pauses, received = printed.split(maxsplit=1)
    assert (int(pauses) <= 2, received) == (True, "[b'a read frame']")


def test_under_gevent_waiting_for_idle_lasts_while_sockets_keep_each_other_busy():
    printed = run_under_gevent(
        """
        import socket
        import time

        import gevent

        from chatapp.offload import wait_until_idle

        pairs = [socket.socketpair() for _ in range(4)]
        hops = []

        def relay(number):
            # Read a byte, work half a millisecond on it, and pass it on: 40 times in all.
            while True:
                pairs[number][0].recv(1)
                until = time.perf_counter() + 0.0005
                while time.perf_counter() < until:
                    pass
                hops.append(number)
                if len(hops) < 40:
                    pairs[(number + 1) % 4][1].send(b"x")

        for number in range(4):
            gevent.spawn(relay, number)
        gevent.sleep(0.01)  # every relay now waits for its socket
        pairs[0][1].send(b"x")
        wait_until_idle(30)
        print(len(hops))
        """
    )
    assert printed == "40"


def test_under_gevent_a_pause_on_a_loop_that_is_never_idle_still_ends():
    printed = run_under_gevent(
        """
        import time

        import gevent

        from chatapp.bookkeeping import give_way

        stopped = []

        def forever_ready():
            while not stopped:
                gevent.sleep(0)

        gevent.spawn(forever_ready)
        started = time.monotonic()
        give_way()
        stopped.append(True)
        print(time.monotonic() - started)
        """
    )
    assert LONGEST_PAUSE_SECONDS <= float(printed) < LONGEST_PAUSE_SECONDS + 0.5


def test_a_round_of_many_quick_steps_does_not_pause_after_each(app):
    with app.app_context():
        steps = Steps()
        started = time.monotonic()
        for _ in range(1000):
            steps.done()
        # A pause after each, a millisecond at least, would take a second.
        assert time.monotonic() - started < 0.5
