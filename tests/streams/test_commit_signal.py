"""events_committed keeps Django's Signal contract while caching its receivers per change."""

from __future__ import annotations

import gc
import logging

import pytest

from streams.signals import CommitSignal


def test_receivers_get_each_send_and_connect_disconnect_take_effect_at_once():
    signal = CommitSignal()
    calls = []

    def first(sender, result, **kwargs):
        calls.append(("first", result))
        return 1

    def second(sender, result, **kwargs):
        calls.append(("second", result))
        return 2

    assert signal.send_robust(sender=None, result="a") == []
    signal.connect(first, weak=False)
    assert signal.send_robust(sender=None, result="b") == [(first, 1)]
    signal.connect(second, weak=False)
    assert signal.send_robust(sender=None, result="c") == [(first, 1), (second, 2)]
    signal.disconnect(first)
    assert signal.send_robust(sender=None, result="d") == [(second, 2)]
    assert calls == [("first", "b"), ("first", "c"), ("second", "c"), ("second", "d")]


def test_a_failing_receiver_is_logged_and_the_others_still_run(caplog):
    signal = CommitSignal()
    seen = []

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    def working(**kwargs):
        seen.append(kwargs["result"])

    signal.connect(broken, weak=False)
    signal.connect(working, weak=False)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        responses = signal.send_robust(sender=None, result="r")
    assert seen == ["r"]
    assert isinstance(responses[0][1], RuntimeError)
    assert "receiver bug" in caplog.text


def test_a_weak_receiver_that_dies_is_no_longer_called():
    signal = CommitSignal()
    calls = []

    class Listener:
        def on_commit(self, **kwargs):
            calls.append(kwargs["result"])

    listener = Listener()
    signal.connect(listener.on_commit)  # weak: a bound method of a live object
    signal.send_robust(sender=None, result=1)
    del listener
    gc.collect()
    assert signal.send_robust(sender=None, result=2) == []
    assert calls == [1]


@pytest.mark.parametrize("kind", ["sender-specific", "async"])
def test_receivers_the_cache_does_not_cover_take_djangos_path(kind):
    signal = CommitSignal()
    calls = []

    class Sender:
        pass

    if kind == "async":

        async def receiver(**kwargs):
            calls.append(kwargs["result"])

        signal.connect(receiver, weak=False)
        sender = None
    else:
        sender = Sender

        def receiver(**kwargs):
            calls.append(kwargs["result"])

        signal.connect(receiver, sender=Sender, weak=False)
        assert signal.send_robust(sender=object, result="other sender") == []
    assert signal.send_robust(sender=sender, result="x") == [(receiver, None)]
    assert calls == ["x"]


@pytest.mark.parametrize("cached", [True, False])
def test_announce_calls_every_receiver_and_logs_a_failure(caplog, cached):
    """announce (the store service's send, no responses) has send_robust's contract, on the
    cached plan and on Django's path alike."""
    signal = CommitSignal()
    seen = []

    class Sender:
        pass

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    def working(signal, sender, result, **kwargs):
        seen.append((sender, result))

    signal.connect(broken, weak=False)
    signal.connect(working, weak=False, sender=None if cached else Sender)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        assert signal.announce(Sender, "r") is None
    assert seen == [(Sender, "r")]
    assert "receiver bug" in caplog.text
