"""Named leases: one holder at a time, and a dead holder's lease frees itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dallosh import leases

pytestmark = pytest.mark.django_db


def test_a_lease_has_one_holder_until_given_back_or_expired():
    assert leases.take(name="nightly", ttl=timedelta(minutes=5), holder="a")
    assert not leases.take(name="nightly", ttl=timedelta(minutes=5), holder="b")
    leases.give_back(name="nightly", holder="b")  # only its holder gives a lease back
    assert not leases.take(name="nightly", ttl=timedelta(minutes=5), holder="b")
    leases.give_back(name="nightly", holder="a")
    assert leases.take(name="nightly", ttl=timedelta(seconds=-1), holder="b")  # taken, and already expired
    assert leases.take(name="nightly", ttl=timedelta(minutes=5), holder="c")


def test_held_names_the_holder_when_the_lease_is_taken():
    assert leases.take(name="nightly", ttl=timedelta(minutes=5), holder="worker-7:42")
    with (pytest.raises(leases.LeaseTaken, match=r"nightly is already running \(worker-7:42 since"),
          leases.held(name="nightly", ttl=timedelta(minutes=5))):
        pass
    leases.give_back(name="nightly", holder="worker-7:42")
    with leases.held(name="nightly", ttl=timedelta(minutes=5)):
        assert not leases.take(name="nightly", ttl=timedelta(minutes=5), holder="other")
    assert leases.take(name="nightly", ttl=timedelta(minutes=5), holder="other")
