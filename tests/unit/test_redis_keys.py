"""Key names that must share a Redis Cluster hash slot do: checked with redis-py's own slot
function (the CRC16 Redis Cluster uses), not with our reading of the hash-tag rule."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from adapters.messaging.keys import hash_tag, together
from adapters.messaging.streams import EventStreams


@pytest.mark.parametrize("events", ["shopcore:events", "shop-a:events", "{orders}:events"])
def test_the_stream_and_the_keys_its_scripts_touch_share_one_slot(events: str) -> None:
    streams = EventStreams.named(events)
    slots = {key_slot(name.encode()) for name in (streams.events, streams.fed, streams.confirmed)}
    assert len(slots) == 1


def test_the_stream_keeps_its_name_and_its_companions_take_it_as_their_tag() -> None:
    streams = EventStreams()
    assert (streams.events, streams.fed, streams.confirmed) == (
        "shopcore:events",
        "{shopcore:events}:fed",
        "{shopcore:events}:confirmed",
    )


def test_a_name_with_a_tag_keeps_it_and_one_without_becomes_one() -> None:
    assert together("{a}:b") == "{a}:b"
    assert together("a:b") == "{a:b}"
    assert hash_tag("x{}y{z}") is None  # the first `{` decides: an empty tag is none at all


@pytest.mark.parametrize("name", ["a{}b", "a}b", "{ab"])
def test_a_name_whose_braces_make_no_tag_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="hash tag"):
        together(name)
