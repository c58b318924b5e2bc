"""A revoked login stays on the list while any of its access tokens could still be valid, and
no longer: the list does not grow for ever."""

from __future__ import annotations

from adapters.machinery.revocations import LocalRevocations


async def test_a_login_is_refused_until_its_last_token_would_have_expired() -> None:
    now = [1_000.0]
    revoked = LocalRevocations(now=lambda: now[0])

    await revoked.revoke("family-a", until=1_900.0)
    await revoked.revoke("family-a", until=1_500.0)  # an earlier end never shortens it

    assert revoked.revoked("family-a") and not revoked.revoked("family-b")
    now[0] = 1_899.0
    assert revoked.revoked("family-a")
    now[0] = 1_900.0
    assert not revoked.revoked("family-a")


async def test_ended_entries_are_pruned() -> None:
    now = [0.0]
    revoked = LocalRevocations(now=lambda: now[0])
    for n in range(100):
        await revoked.revoke(f"family-{n}", until=10.0)
    assert len(revoked) == 100

    now[0] = 61.0
    await revoked.revoke("fresh", until=1_000.0)

    assert len(revoked) == 1
