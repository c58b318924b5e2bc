"""What every cart repository must do: store a cart whole (lines in their order, the token
hash of an anonymous cart, a checkout under way) and find a customer's open cart."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory.clock import ManualClock
from shopcore.cart.model import CartStatus, Quote, hash_token
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur, read, write


# -- carts ---------------------------------------------------------------------------------
async def test_a_customer_cart_reads_back_exactly_as_written(
    backend: Backend, clock: ManualClock
) -> None:
    cart = b.cart(customer_id=new_id(), lines={"TEE-M": 2, "CAP-1": 1})
    cart.set_quantity(
        Quote(sku="MUG-1", name="Mug “XL”", price=eur(1), sellable=True), 100, clock.now()
    )
    await write(backend, lambda uow: uow.carts.add(cart))

    stored = await read(backend, lambda uow: uow.carts.get(cart.id))

    assert stored == cart
    assert stored is not None
    assert [line.sku for line in stored.lines] == ["TEE-M", "CAP-1", "MUG-1"]
    assert stored.subtotal == eur(2 * 1250 + 1250 + 100)
    assert stored.events == []


async def test_an_anonymous_cart_reads_back_with_its_token_hash(backend: Backend) -> None:
    cart = b.cart(token_hash=hash_token("secret-token"), lines={"TEE-M": 1})
    await write(backend, lambda uow: uow.carts.add(cart))

    stored = await read(backend, lambda uow: uow.carts.get(cart.id))

    assert stored == cart
    assert stored is not None
    assert stored.customer_id is None
    assert stored.token_hash == hash_token("secret-token")


async def test_a_cart_being_checked_out_reads_back_exactly(
    backend: Backend, clock: ManualClock
) -> None:
    cart = b.cart(customer_id=new_id(), lines={"TEE-M": 1})
    await write(backend, lambda uow: uow.carts.add(cart))
    order_id = new_id()

    async with backend.uow() as uow:
        loaded = await uow.carts.get(cart.id)
        assert loaded is not None
        loaded.begin_checkout(order_id, clock.advance(seconds=30), b.HOLD)
        await uow.commit()

    stored = await read(backend, lambda uow: uow.carts.get(cart.id))
    assert stored == loaded
    assert stored is not None
    assert stored.status is CartStatus.CHECKING_OUT
    assert stored.order_id == order_id
    assert stored.checkout_started_at == clock.now()


async def test_open_cart_of_finds_the_customers_open_cart(
    backend: Backend, clock: ManualClock
) -> None:
    customer_id = new_id()
    checked_out = b.cart(customer_id=customer_id, lines={"TEE-M": 1})
    checked_out.begin_checkout("order-1", clock.now(), b.HOLD)
    checked_out.complete_checkout("order-1", clock.now())
    merged = b.cart(customer_id=customer_id, lines={"CAP-1": 1})
    b.cart(customer_id=customer_id).absorb(merged, {}, clock.now())
    open_cart = b.cart(customer_id=customer_id, lines={"MUG-1": 1})
    someone_elses = b.cart(customer_id=new_id())
    anonymous = b.cart(token_hash=hash_token("t"))
    await add_all(backend, checked_out, merged, open_cart, someone_elses, anonymous)

    assert await read(backend, lambda uow: uow.carts.open_cart_of(customer_id)) == open_cart


async def test_open_cart_of_skips_a_cart_being_checked_out(
    backend: Backend, clock: ManualClock
) -> None:
    """A held cart refuses changes, so it is never the customer's open cart."""
    customer_id = new_id()
    cart = b.cart(customer_id=customer_id, lines={"TEE-M": 1})
    cart.begin_checkout(new_id(), clock.now(), b.HOLD)
    await write(backend, lambda uow: uow.carts.add(cart))

    assert await read(backend, lambda uow: uow.carts.open_cart_of(customer_id)) is None


async def test_open_cart_of_is_the_open_cart_changed_last(
    backend: Backend, clock: ManualClock
) -> None:
    """A checkout gave a cart back while the customer had started another: the one they
    touched last is theirs."""
    customer_id = new_id()
    older = b.cart(customer_id=customer_id, lines={"TEE-M": 1})
    newer = b.cart(customer_id=customer_id, lines={"TEE-L": 1})
    newer.updated_at = older.updated_at + timedelta(minutes=1)
    await add_all(backend, older, newer)

    assert await read(backend, lambda uow: uow.carts.open_cart_of(customer_id)) == newer


async def test_open_cart_of_is_none_without_an_open_cart(
    backend: Backend, clock: ManualClock
) -> None:
    customer_id = new_id()
    done = b.cart(customer_id=customer_id, lines={"TEE-M": 1})
    done.begin_checkout("order-1", clock.now(), b.HOLD)
    done.complete_checkout("order-1", clock.now())
    await add_all(backend, done, b.cart(customer_id=new_id()))

    assert await read(backend, lambda uow: uow.carts.open_cart_of(customer_id)) is None
    assert await read(backend, lambda uow: uow.carts.open_cart_of(new_id())) is None
    assert await read(backend, lambda uow: uow.carts.get(new_id())) is None
