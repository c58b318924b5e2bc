from __future__ import annotations

import uuid

import pytest

from shopcore.shared import ids
from shopcore.shared.ids import is_id, new_id


class FrozenTime:
    """Stands in for the `time` module so ids can be minted at chosen instants."""

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def time_ns(self) -> int:
        return self.millis * 1_000_000


def test_a_new_id_is_a_canonical_uuid_version_7_with_the_rfc_variant() -> None:
    value = new_id()
    parsed = uuid.UUID(value)

    assert str(parsed) == value
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_a_new_id_carries_the_unix_milliseconds_in_its_first_48_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "time", FrozenTime(1_767_225_600_123))

    assert uuid.UUID(new_id()).int >> 80 == 1_767_225_600_123


def test_ids_minted_in_later_milliseconds_sort_after_earlier_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FrozenTime(1_700_000_000_000)
    monkeypatch.setattr(ids, "time", clock)
    minted = []
    for step in range(50):
        clock.millis += 1 + step % 3
        minted.append(new_id())

    assert sorted(minted) == minted


def test_ids_minted_in_the_same_millisecond_are_still_unique(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "time", FrozenTime(1_700_000_000_000))

    assert len({new_id() for _ in range(1000)}) == 1000


def test_is_id_accepts_ids_and_rejects_other_strings() -> None:
    assert is_id(new_id())
    assert is_id(str(uuid.uuid4()))
    assert not is_id("blue-shirt")
    assert not is_id("")
    assert not is_id(new_id()[:-1])
