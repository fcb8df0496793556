"""The publisher's parts: who gives way of two daemons under one id, what is still waiting for
its acknowledgement, and what the publisher remembers of a flood."""

import json

from moodcast.edge.config import load
from moodcast.edge.service.acks import EARLY_KEPT_S, Unacknowledged
from moodcast.edge.service.twins import TWIN_BACKOFF_S, TwinWatch


def test_a_twin_backs_off_doubling_up_to_the_longest():
    watch = TwinWatch("0" * 16)
    assert [watch.backoff_s() for _ in range(6)] == [60, 120, 240, 480, 600, 600]
    assert TWIN_BACKOFF_S == (60, 600) and watch.twins == 6


def test_twins_are_told_from_their_states_and_the_memory_of_them_is_bounded():
    watch = TwinWatch("5" * 16)
    state = lambda boot_id, seq: json.dumps({"boot_id": boot_id, "seq": seq}).encode()  # noqa: E731
    assert watch.gives_way_to(state("9" * 16, 1)) is None  # first sight: maybe a retained leftover
    assert watch.gives_way_to(state("9" * 16, 2)) == "9" * 16  # it keeps publishing, and is larger
    assert watch.gives_way_to(state("1" * 16, 1)) is None and watch.gives_way_to(state("1" * 16, 2)) is None
    for i in range(1000):  # a replayed history of boot_ids
        watch.gives_way_to(state(f"{i:016x}", 1))
    assert len(watch._seqs) <= 17


def test_acknowledgements_in_any_order_leave_nothing_waiting():
    acks = Unacknowledged()
    acks.sent(1, now=0.0, tracked=True, state=True)
    acks.sent(2, now=0.0, tracked=True, state=False)
    assert len(acks) == 2 and acks.states == 1
    acks.acknowledged(1, now=0.1)
    assert len(acks) == 1 and acks.states == 0
    acks.acknowledged(3, now=0.2)  # before publish() returned its id
    acks.sent(3, now=0.2, tracked=True, state=True)
    assert len(acks) == 1 and acks.states == 0
    acks.sent(4, now=0.2, tracked=False, state=False)  # QoS 0: never waited for
    acks.acknowledged(2, now=0.3)
    assert len(acks) == 0


def test_an_early_acknowledgement_is_forgotten_when_its_id_may_come_again():
    acks = Unacknowledged()
    acks.acknowledged(7, now=0.0)  # of a QoS 0 message: nothing follows it
    acks.sent(7, now=EARLY_KEPT_S + 1, tracked=True, state=True)  # paho reused the id
    assert len(acks) == 1 and acks.states == 1


def test_only_a_twin_that_keeps_publishing_and_only_one_of_two_gives_way():
    """A retained state left by an earlier run never changes; a live twin's seq does. Of two
    twins the smaller boot_id backs off."""
    from moodcast.edge.service.mqtt import Publisher

    publisher = Publisher(load(overrides={"mqtt": {"device_id": "twin"}}, environ={}))
    try:
        older = "0" * 16 if publisher.boot_id > "0" * 16 else "f" * 16

        def state(boot_id: str, seq: int) -> bytes:
            return json.dumps({"boot_id": boot_id, "seq": seq}).encode()

        for bad in (b"[" * 3000, b'{"boot_id": "x", "seq": 1}' + b" " * 70000):  # too deep, too long
            publisher._check_twin(bad)  # ignored, never raised into paho's thread
        for _ in range(3):
            publisher._check_twin(state(older, 7))  # the same stale state at every reconnect
        assert publisher.twin_watch.twins == 0
        smaller, larger = sorted([publisher.boot_id, "0" * 16 if older == "f" * 16 else "f" * 16])
        other = larger if smaller == publisher.boot_id else smaller
        publisher._check_twin(state(other, 1))
        publisher._check_twin(state(other, 2))
        gives_way = publisher.boot_id < other
        assert publisher.twin_watch.twins == (1 if gives_way else 0)
        if gives_way:
            assert "is a second one running with mqtt.device_id 'twin'?" in publisher.last_error
    finally:
        publisher.stop()


def test_retained_commands_on_ever_more_topics_are_remembered_boundedly():
    """Each topic with a retained command is warned about once; a flood of new topics must not
    grow what the publisher remembers of them."""
    from types import SimpleNamespace

    from moodcast.edge.service.inbox import COMMAND_QUEUE
    from moodcast.edge.service.mqtt import Publisher

    publisher = Publisher(load(overrides={"mqtt": {"device_id": "flood"}}, environ={}))
    try:
        for i in range(1000):
            publisher._on_message(
                None, None, SimpleNamespace(topic=f"moodcast/flood/set/x{i}", retain=True, payload=b"1")
            )
        assert len(publisher._ignored_retained) <= COMMAND_QUEUE and publisher.commands.get() is None
    finally:
        publisher.stop()


def test_republish_is_due_once_per_interval_however_often_asked():
    from moodcast.edge.service.republish import Republish

    republish = Republish(10.0)
    assert not republish.due(0.0)  # never asked
    for _ in range(1000):
        republish.ask()
    assert republish.due(0.0) and not republish.due(0.1)  # once at once
    republish.ask()
    assert not republish.due(9.9) and republish.due(10.0) and not republish.due(30.0)  # asked once: once
