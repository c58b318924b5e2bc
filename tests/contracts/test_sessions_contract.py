"""What every SessionRepository must do: keep refresh sessions whole, find them by token hash,
list a login's family and a customer's live sessions, and refuse a lost update or a second row
with the same token hash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.clock import ManualClock
from shopcore.customers.sessions import RefreshSession, hash_refresh_token
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write

TTL = timedelta(days=30)


def session(
    *, customer_id: str | None = None, family_id: str | None = None, at: int = 0
) -> tuple[RefreshSession, str]:
    """A session started `at` seconds after START, and its raw token."""
    return RefreshSession.start(
        customer_id=customer_id or new_id(),
        now=b.START + timedelta(seconds=at),
        ttl=TTL,
        family_id=family_id,
    )


async def add(backend: Backend, *sessions: RefreshSession) -> None:
    async with backend.uow() as uow:
        for each in sessions:
            await uow.sessions.add(each)
        await uow.commit()


async def test_a_new_session_reads_back_exactly_by_id_and_by_token_hash(
    backend: Backend,
) -> None:
    fresh, token = session()
    await add(backend, fresh)

    by_id = await read(backend, lambda uow: uow.sessions.get(fresh.id))
    by_hash = await read(
        backend, lambda uow: uow.sessions.get_by_token_hash(hash_refresh_token(token))
    )

    assert by_id == fresh
    assert by_hash == fresh
    assert by_id is not None
    assert by_id.version == 1
    assert by_id.created_at == b.START  # microseconds and the zone survive
    assert by_id.created_at.utcoffset() == timedelta(0)
    assert by_id.used_at is None and by_id.revoked_at is None


async def test_a_used_and_a_revoked_session_read_back_exactly(
    backend: Backend, clock: ManualClock
) -> None:
    used, _ = session()
    revoked, _ = session()
    await add(backend, used, revoked)

    async with backend.uow() as uow:
        loaded_used = await uow.sessions.get(used.id)
        loaded_revoked = await uow.sessions.get(revoked.id)
        assert loaded_used is not None and loaded_revoked is not None
        loaded_used.use(clock.advance(seconds=61))
        loaded_revoked.revoke(clock.advance(microseconds=7))
        await uow.commit()

    stored_used = await read(backend, lambda uow: uow.sessions.get(used.id))
    stored_revoked = await read(backend, lambda uow: uow.sessions.get(revoked.id))
    assert stored_used is not None and stored_revoked is not None
    assert stored_used.used_at == b.START + timedelta(seconds=61)
    assert stored_used.revoked_at is None
    assert stored_revoked.revoked_at == b.START + timedelta(seconds=61, microseconds=7)
    assert (stored_used.version, stored_revoked.version) == (2, 2)


async def test_unknown_ids_and_hashes_find_nothing(backend: Backend) -> None:
    known, _ = session()
    await add(backend, known)

    assert await read(backend, lambda uow: uow.sessions.get(new_id())) is None
    assert (
        await read(backend, lambda uow: uow.sessions.get_by_token_hash(hash_refresh_token("x")))
        is None
    )
    assert await read(backend, lambda uow: uow.sessions.family(new_id())) == []


async def test_a_unit_hands_out_one_copy_whichever_way_it_looks(backend: Backend) -> None:
    known, token = session()
    await add(backend, known)

    async with backend.uow() as uow:
        by_id = await uow.sessions.get(known.id)
        by_hash = await uow.sessions.get_by_token_hash(hash_refresh_token(token))
        [in_family] = await uow.sessions.family(known.family_id)

    assert by_id is by_hash is in_family


async def test_two_sessions_never_share_a_token_hash(backend: Backend) -> None:
    first, _ = session()
    await add(backend, first)
    clone, _ = session()
    clone.token_hash = first.token_hash

    with pytest.raises(AlreadyExists):
        await add(backend, clone)

    assert await read(backend, lambda uow: uow.sessions.get(clone.id)) is None


async def test_a_family_lists_its_sessions_oldest_first_and_nothing_else(
    backend: Backend,
) -> None:
    customer_id = new_id()
    root, _ = session(customer_id=customer_id, at=0)
    later = [session(customer_id=customer_id, family_id=root.id, at=n)[0] for n in (30, 10, 20)]
    other, _ = session(customer_id=customer_id, at=5)
    await add(backend, *later, other, root)

    family = await read(backend, lambda uow: uow.sessions.family(root.id))

    assert [s.id for s in family] == [root.id, later[1].id, later[2].id, later[0].id]


async def test_the_live_part_of_a_family_leaves_out_used_and_revoked_sessions(
    backend: Backend, clock: ManualClock
) -> None:
    root, _ = session(at=0)
    used, _ = session(family_id=root.id, at=1)
    revoked, _ = session(family_id=root.id, at=2)
    live, _ = session(family_id=root.id, at=3)
    used.use(clock.now())
    revoked.revoke(clock.now())
    await add(backend, root, used, revoked, live)

    found = await read(backend, lambda uow: uow.sessions.live(root.id))

    assert [s.id for s in found] == [root.id, live.id]


async def test_a_customers_live_sessions_span_families_and_leave_out_others(
    backend: Backend, clock: ManualClock
) -> None:
    customer_id = new_id()
    first, _ = session(customer_id=customer_id, at=0)
    used, _ = session(customer_id=customer_id, family_id=first.id, at=1)
    second, _ = session(customer_id=customer_id, at=2)
    revoked, _ = session(customer_id=customer_id, at=3)
    someone_elses, _ = session(at=4)
    used.use(clock.now())
    revoked.revoke(clock.now())
    await add(backend, second, someone_elses, revoked, used, first)

    found = await read(backend, lambda uow: uow.sessions.live_of_customer(customer_id))

    assert [s.id for s in found] == [first.id, second.id]
    assert await read(backend, lambda uow: uow.sessions.live_of_customer(new_id())) == []


async def test_an_uncommitted_session_is_not_stored(backend: Backend) -> None:
    dropped, _ = session()
    async with backend.uow() as uow:
        await uow.sessions.add(dropped)

    assert await read(backend, lambda uow: uow.sessions.get(dropped.id)) is None


async def test_the_later_of_two_concurrent_rotations_conflicts(
    backend: Backend, clock: ManualClock
) -> None:
    spent, _ = session()
    await write(backend, lambda uow: uow.sessions.add(spent))

    async with backend.uow() as first, backend.uow() as second:
        mine = await first.sessions.get(spent.id)
        theirs = await second.sessions.get(spent.id)
        assert mine is not None and theirs is not None
        mine.use(clock.advance(seconds=1))
        await first.commit()
        theirs.use(clock.advance(seconds=1))
        with pytest.raises(ConcurrencyConflict):
            await second.commit()

    stored = await read(backend, lambda uow: uow.sessions.get(spent.id))
    assert stored is not None
    assert stored.used_at == b.START + timedelta(seconds=1)
