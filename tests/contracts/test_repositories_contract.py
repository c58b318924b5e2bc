"""What every repository must do: store aggregates whole, and find them by the port's queries."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.cart.model import Cart, CartStatus, Quote, hash_token
from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.catalog.ports import ProductFilter
from shopcore.ordering.model import Order, OrderStatus
from shopcore.payments.model import Payment, PaymentStatus, Transaction, TransactionKind
from shopcore.shared.address import Address
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import eur, read, write


async def add_all(backend: Backend, *aggregates: Aggregate) -> None:
    async with backend.uow() as uow:
        for aggregate in aggregates:
            if isinstance(aggregate, Product):
                await uow.products.add(aggregate)
            elif isinstance(aggregate, Cart):
                await uow.carts.add(aggregate)
            elif isinstance(aggregate, Order):
                await uow.orders.add(aggregate)
            elif isinstance(aggregate, Payment):
                await uow.payments.add(aggregate)
            else:
                raise AssertionError(f"add_all does not store {type(aggregate).__name__}")
        await uow.commit()


def ids_of(aggregates: list[Product] | list[Order] | list[Payment]) -> list[str]:
    return [aggregate.id for aggregate in aggregates]


# -- products: round trips -----------------------------------------------------------------
async def test_a_product_reads_back_exactly_as_written(backend: Backend) -> None:
    product = Product.create(
        id=new_id(),
        name="Ünïcode Tee — “limited”",
        slug="unicode-tee",
        description="Line one\nLine two\twith a tab; 100 % cotton",
        category="shirts",
        variants=(
            Variant(sku="TEE-S", price=eur(1999), attributes={"size": "S", "Farbe": "Grün"}),
            Variant(sku="TEE-M", price=eur(2099), attributes={"size": "M"}),
            Variant(sku="TEE-L", price=eur(100_000_000)),
        ),
        currency=b.CURRENCY,
        now=b.START,
    )
    await write(backend, lambda uow: uow.products.add(product))

    by_id = await read(backend, lambda uow: uow.products.get(product.id))
    by_slug = await read(backend, lambda uow: uow.products.get_by_slug("unicode-tee"))

    assert by_id == product
    assert by_slug == product
    assert by_id is not None
    assert by_id.events == []
    assert by_id.skus == ("TEE-S", "TEE-M", "TEE-L")  # variant order is kept
    assert by_id.created_at.utcoffset() is not None


async def test_a_changed_and_archived_product_reads_back_exactly(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["MUG-1", "MUG-2"], prices=[900, 1100])
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(
            name="Mug, large",
            description="",
            category="kitchen",
            variants=(
                Variant(sku="MUG-2", price=eur(1250), attributes={"volume": "500 ml"}),
                Variant(sku="MUG-3", price=eur(1500)),
            ),
            currency=b.CURRENCY,
            now=clock.advance(hours=2),
        )
        await uow.commit()
    async with backend.uow() as uow:
        archived = await uow.products.get(product.id)
        assert archived is not None
        archived.archive(clock.advance(days=1))
        await uow.commit()

    stored = await read(backend, lambda uow: uow.products.get(product.id))

    assert stored == archived
    assert stored is not None
    assert stored.status is ProductStatus.ARCHIVED
    assert stored.skus == ("MUG-2", "MUG-3")
    assert stored.description == ""
    assert stored.updated_at == clock.now()
    assert stored.events == []


async def test_unknown_products_read_as_none(backend: Backend) -> None:
    await write(backend, lambda uow: uow.products.add(b.product(slug="known")))

    assert await read(backend, lambda uow: uow.products.get(new_id())) is None
    assert await read(backend, lambda uow: uow.products.get_by_slug("unknown")) is None


async def test_a_changed_slug_is_found_under_the_new_one_and_frees_the_old(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(slug="old-name")
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(slug="new-name", currency=b.CURRENCY, now=clock.advance(minutes=1))
        await uow.commit()
    successor = b.product(slug="old-name")
    await write(backend, lambda uow: uow.products.add(successor))

    assert await read(backend, lambda uow: uow.products.get_by_slug("new-name")) == loaded
    assert await read(backend, lambda uow: uow.products.get_by_slug("old-name")) == successor


# -- products: SKUs ----------------------------------------------------------------------
async def test_taken_skus_names_those_owned_by_other_products(backend: Backend) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    cap = b.product(skus=["CAP-1"])
    await add_all(backend, tee, cap)

    taken = await read(
        backend, lambda uow: uow.products.taken_skus(["NEW-1", "TEE-M", "CAP-1", "TEE-S"])
    )

    assert sorted(taken) == ["CAP-1", "TEE-M", "TEE-S"]
    assert len(taken) == 3


async def test_taken_skus_leaves_out_the_excluded_products_own(backend: Backend) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    cap = b.product(skus=["CAP-1"])
    await add_all(backend, tee, cap)

    taken = await read(
        backend,
        lambda uow: uow.products.taken_skus(["TEE-S", "TEE-M", "CAP-1"], excluding=tee.id),
    )

    assert taken == ["CAP-1"]


async def test_skus_of_archived_products_stay_taken(backend: Backend, clock: ManualClock) -> None:
    product = b.product(skus=["OLD-1"])
    product.archive(clock.now())
    await write(backend, lambda uow: uow.products.add(product))

    assert await read(backend, lambda uow: uow.products.taken_skus(["OLD-1"])) == ["OLD-1"]


async def test_skus_dropped_from_a_product_become_free(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["KEEP-1", "DROP-1"])
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(
            variants=(Variant(sku="KEEP-1", price=eur(500)),),
            currency=b.CURRENCY,
            now=clock.advance(minutes=1),
        )
        await uow.commit()
    heir = b.product(skus=["DROP-1"])
    await write(backend, lambda uow: uow.products.add(heir))

    assert await read(backend, lambda uow: uow.products.taken_skus(["KEEP-1"])) == ["KEEP-1"]
    found = await read(backend, lambda uow: uow.products.by_skus(["DROP-1"]))
    assert found == [heir]


async def test_by_skus_finds_each_owning_product_once_archived_ones_too(
    backend: Backend, clock: ManualClock
) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    old = b.product(skus=["OLD-1"])
    old.archive(clock.now())
    other = b.product(skus=["CAP-1"])
    await add_all(backend, tee, old, other)

    found = await read(
        backend, lambda uow: uow.products.by_skus(["TEE-S", "OLD-1", "TEE-M", "NOPE-1"])
    )

    assert sorted(found, key=lambda p: p.id) == sorted([tee, old], key=lambda p: p.id)
    assert len(found) == 2


async def test_empty_sku_lists_find_nothing(backend: Backend) -> None:
    await write(backend, lambda uow: uow.products.add(b.product()))

    assert await read(backend, lambda uow: uow.products.taken_skus([])) == []
    assert await read(backend, lambda uow: uow.products.by_skus([])) == []


# -- products: listing ---------------------------------------------------------------------
async def catalog(backend: Backend, clock: ManualClock) -> dict[str, Product]:
    """Eight products whose ids ascend in the order listed."""
    ids = b.ascending_ids(8)
    products = {
        "tee": b.product(id=ids[0], name="Classic Tee", category="shirts", prices=[1500]),
        "polo": b.product(
            id=ids[1],
            name="Polo",
            description="A classic collar",
            category="shirts",
            prices=[2500, 4500],
        ),
        "mug": b.product(id=ids[2], name="Mug", category="kitchen", prices=[900]),
        "apples": b.product(
            id=ids[3],
            name="Äpfel-Druck",
            description="Poster",
            category="posters",
            prices=[3000],
        ),
        "sale": b.product(
            id=ids[4],
            name="50% off sticker",
            description="Cheap",
            category="stickers",
            prices=[100],
        ),
        "snake": b.product(
            id=ids[5],
            name="snake_case mug",
            category="kitchen",
            prices=[1200],
        ),
        "retired": b.product(id=ids[6], name="Classic Cap", category="shirts", prices=[1500]),
        "hoodie": b.product(id=ids[7], name="Hoodie", category="shirts", prices=[5000, 6000]),
    }
    products["retired"].archive(clock.now())
    await add_all(backend, *products.values())
    return products


async def page_names(
    backend: Backend, filters: ProductFilter, *, before: str | None = None, limit: int = 100
) -> list[str]:
    found = await read(backend, lambda uow: uow.products.page(filters, before=before, limit=limit))
    return [product.name for product in found]


async def test_page_lists_sellable_products_newest_first(
    backend: Backend, clock: ManualClock
) -> None:
    products = await catalog(backend, clock)

    found = await read(
        backend, lambda uow: uow.products.page(ProductFilter(), before=None, limit=100)
    )

    expected = [
        products[key] for key in ("hoodie", "snake", "sale", "apples", "mug", "polo", "tee")
    ]
    assert found == expected
    assert all(product.events == [] for product in found)


async def test_page_includes_archived_products_only_when_asked(
    backend: Backend, clock: ManualClock
) -> None:
    await catalog(backend, clock)

    names = await page_names(backend, ProductFilter(category="shirts", include_archived=True))

    assert names == ["Hoodie", "Classic Cap", "Polo", "Classic Tee"]


async def test_page_filters_by_category(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(category="kitchen")) == ["snake_case mug", "Mug"]
    assert await page_names(backend, ProductFilter(category="garden")) == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("classic", ["Polo", "Classic Tee"]),  # in the description, or the name
        ("CLASSIC TEE", ["Classic Tee"]),
        ("mug", ["snake_case mug", "Mug"]),
        ("äpfel", ["Äpfel-Druck"]),
        ("ÄPFEL", ["Äpfel-Druck"]),
        ("50%", ["50% off sticker"]),  # wildcards of LIKE are plain characters here
        ("%", ["50% off sticker"]),
        ("e_c", ["snake_case mug"]),
        ("_", ["snake_case mug"]),
        ("poster", ["Äpfel-Druck"]),
        ("nothing like it", []),
    ],
)
async def test_page_matches_text_case_insensitively_in_name_or_description(
    backend: Backend, clock: ManualClock, text: str, names: list[str]
) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(text=text)) == names


@pytest.mark.parametrize(
    ("low", "high", "names"),
    [
        (1500, None, ["Hoodie", "Äpfel-Druck", "Polo", "Classic Tee"]),
        (None, 1200, ["snake_case mug", "50% off sticker", "Mug"]),
        (1200, 1500, ["snake_case mug", "Classic Tee"]),  # both bounds inclusive
        (4000, 4600, ["Polo"]),  # any variant in range is enough
        (5500, 5900, []),  # no single variant in range, though they straddle it
        (6001, None, []),
    ],
)
async def test_page_filters_by_price_range_of_any_variant(
    backend: Backend, clock: ManualClock, low: int | None, high: int | None, names: list[str]
) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(min_price=low, max_price=high)) == names


async def test_page_combines_every_filter(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    names = await page_names(
        backend,
        ProductFilter(
            category="shirts",
            text="classic",
            min_price=1000,
            max_price=2000,
            include_archived=True,
        ),
    )

    assert names == ["Classic Cap", "Classic Tee"]


async def test_page_stops_at_the_limit(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(), limit=2) == ["Hoodie", "snake_case mug"]
    assert await page_names(backend, ProductFilter(), limit=1) == ["Hoodie"]


async def test_page_returns_only_ids_below_before(backend: Backend, clock: ManualClock) -> None:
    products = await catalog(backend, clock)

    names = await page_names(backend, ProductFilter(), before=products["sale"].id)

    assert names == ["Äpfel-Druck", "Mug", "Polo", "Classic Tee"]


async def test_walking_pages_by_keyset_visits_every_match_once(
    backend: Backend, clock: ManualClock
) -> None:
    await catalog(backend, clock)
    seen: list[Product] = []
    before: str | None = None
    while True:
        found = await read(
            backend,
            lambda uow, cursor=before: uow.products.page(
                ProductFilter(include_archived=True), before=cursor, limit=3
            ),
        )
        seen.extend(found)
        if len(found) < 3:
            break
        before = found[-1].id

    assert len(seen) == 8
    assert ids_of(seen) == sorted(ids_of(seen), reverse=True)


async def test_page_before_an_id_of_no_product_is_still_a_bound(
    backend: Backend, clock: ManualClock
) -> None:
    products = await catalog(backend, clock)
    between = products["mug"].id[:-1] + chr(ord(products["mug"].id[-1]) + 1)
    assert products["mug"].id < between < products["apples"].id

    assert await page_names(backend, ProductFilter(), before=between) == [
        "Mug",
        "Polo",
        "Classic Tee",
    ]


# -- customers -----------------------------------------------------------------------------
async def test_a_customer_reads_back_exactly_as_written(backend: Backend) -> None:
    customer = b.customer(email="Grace.Hopper@Example.com")
    customer.add_address(b.ADDRESS)
    customer.add_address(
        Address(name="Office", line1="1 Pier", city="Oslo", postal_code="0150", country="NO")
    )
    customer.promote_to_staff()
    customer.rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g")
    await write(backend, lambda uow: uow.customers.add(customer))

    stored = await read(backend, lambda uow: uow.customers.get(customer.id))

    assert stored == customer
    assert stored is not None
    assert stored.email == "grace.hopper@example.com"
    assert stored.addresses[0].line2 == "Hinterhaus, 3. OG"
    assert stored.events == []


async def test_changes_to_a_customer_are_kept(backend: Backend) -> None:
    customer = b.customer()
    await write(backend, lambda uow: uow.customers.add(customer))

    async with backend.uow() as uow:
        loaded = await uow.customers.get(customer.id)
        assert loaded is not None
        loaded.add_address(b.ADDRESS)
        loaded.promote_to_staff()
        await uow.commit()

    stored = await read(backend, lambda uow: uow.customers.get(customer.id))
    assert stored == loaded
    assert stored is not None
    assert stored.addresses == [b.ADDRESS]
    assert stored.is_staff


@pytest.mark.parametrize("asked", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"])
async def test_get_by_email_ignores_case(backend: Backend, asked: str) -> None:
    customer = b.customer(email="Ada@Example.com")
    await write(backend, lambda uow: uow.customers.add(customer))

    assert await read(backend, lambda uow: uow.customers.get_by_email(asked)) == customer


async def test_get_by_email_of_an_unknown_address_is_none(backend: Backend) -> None:
    await write(backend, lambda uow: uow.customers.add(b.customer(email="ada@example.com")))

    assert await read(backend, lambda uow: uow.customers.get_by_email("bob@example.com")) is None
    assert await read(backend, lambda uow: uow.customers.get(new_id())) is None


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


async def test_open_cart_of_finds_a_cart_being_checked_out(
    backend: Backend, clock: ManualClock
) -> None:
    customer_id = new_id()
    cart = b.cart(customer_id=customer_id, lines={"TEE-M": 1})
    cart.begin_checkout(new_id(), clock.now(), b.HOLD)
    await write(backend, lambda uow: uow.carts.add(cart))

    assert await read(backend, lambda uow: uow.carts.open_cart_of(customer_id)) == cart


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


# -- orders --------------------------------------------------------------------------------
async def test_an_order_reads_back_exactly_as_written(backend: Backend) -> None:
    order = b.order(lines={"TEE-M": 2, "CAP-1": 1, "MUG-1": 3})
    await write(backend, lambda uow: uow.orders.add(order))

    stored = await read(backend, lambda uow: uow.orders.get(order.id))

    assert stored == order
    assert stored is not None
    assert stored.shipping_address == b.ADDRESS
    assert stored.totals == order.totals
    assert stored.events == []


async def test_an_order_keeps_its_history_and_refunds_through_its_life(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))
    steps = [
        lambda o: o.confirm(new_id(), clock.advance(seconds=5)),
        lambda o: o.start_shipping(clock.advance(hours=3)),
        lambda o: o.ship(clock.advance(minutes=1)),
        lambda o: o.deliver(clock.advance(days=2)),
        lambda o: o.begin_refund("refund-1", eur(500)),
        lambda o: o.complete_refund("refund-1", clock.advance(days=1)),
        lambda o: o.begin_refund("refund-2", eur(700)),  # booked, not yet completed
    ]
    for step in steps:
        async with backend.uow() as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            step(loaded)
            await uow.commit()

    stored = await read(backend, lambda uow: uow.orders.get(order.id))

    assert stored == loaded
    assert stored is not None
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert [change.to_status for change in stored.history] == [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.CONFIRMED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED,
    ]
    assert stored.refunded == eur(500)
    assert stored.refund_pending == eur(700)
    assert stored.shipping_started_at is not None


async def orders_of_three_customers(backend: Backend, clock: ManualClock) -> list[Order]:
    """Seven orders, ids ascending: ada has 0, 2, 4, 6; bob 1, 5; cy 3. 2 and 5 confirmed."""
    ids = b.ascending_ids(7)
    ada, bob, cy = new_id(), new_id(), new_id()
    owners = [ada, bob, ada, cy, ada, bob, ada]
    orders = [b.order(id=i, customer_id=owner) for i, owner in zip(ids, owners, strict=True)]
    for confirmed in (orders[2], orders[5]):
        confirmed.confirm(new_id(), clock.now())
    await add_all(backend, *orders)
    return orders


async def order_page(
    backend: Backend,
    *,
    customer_id: str | None = None,
    status: OrderStatus | None = None,
    before: str | None = None,
    limit: int = 100,
) -> list[Order]:
    return await read(
        backend,
        lambda uow: uow.orders.page(
            customer_id=customer_id, status=status, before=before, limit=limit
        ),
    )


async def test_order_page_lists_every_order_newest_first(
    backend: Backend, clock: ManualClock
) -> None:
    orders = await orders_of_three_customers(backend, clock)

    assert await order_page(backend) == orders[::-1]


async def test_order_page_filters_by_customer(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    ada = orders[0].customer_id

    assert await order_page(backend, customer_id=ada) == [
        orders[6],
        orders[4],
        orders[2],
        orders[0],
    ]
    assert await order_page(backend, customer_id=new_id()) == []


async def test_order_page_filters_by_status(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)

    confirmed = await order_page(backend, status=OrderStatus.CONFIRMED)
    pending = await order_page(backend, status=OrderStatus.PENDING_PAYMENT)

    assert confirmed == [orders[5], orders[2]]
    assert pending == [orders[6], orders[4], orders[3], orders[1], orders[0]]
    assert await order_page(backend, status=OrderStatus.REFUNDED) == []


async def test_order_page_filters_by_customer_and_status_together(
    backend: Backend, clock: ManualClock
) -> None:
    orders = await orders_of_three_customers(backend, clock)

    found = await order_page(
        backend, customer_id=orders[1].customer_id, status=OrderStatus.CONFIRMED
    )

    assert found == [orders[5]]


async def test_order_page_follows_a_status_change(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    async with backend.uow() as uow:
        loaded = await uow.orders.get(orders[2].id)
        assert loaded is not None
        loaded.cancel("customer request", clock.advance(minutes=1))
        await uow.commit()

    assert await order_page(backend, status=OrderStatus.CONFIRMED) == [orders[5]]
    assert await order_page(backend, status=OrderStatus.CANCELLED) == [loaded]


async def test_order_page_honours_before_and_limit(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    ada = orders[0].customer_id

    first = await order_page(backend, customer_id=ada, limit=2)
    second = await order_page(backend, customer_id=ada, before=first[-1].id, limit=2)
    third = await order_page(backend, customer_id=ada, before=second[-1].id, limit=2)

    assert ids_of(first) == [orders[6].id, orders[4].id]
    assert ids_of(second) == [orders[2].id, orders[0].id]
    assert third == []
    assert ids_of(await order_page(backend, before=orders[3].id)) == ids_of(orders[2::-1])


# -- payments ------------------------------------------------------------------------------
async def test_a_payment_reads_back_with_its_transaction_log(
    backend: Backend, clock: ManualClock
) -> None:
    payment = b.payment(amount=5000)
    reference = payment.gateway_reference
    assert reference is not None
    payment.capture(
        b.transaction(
            TransactionKind.CAPTURE,
            eur(5000),
            at=clock.advance(hours=1),
            key="k-capture",
            reference=reference,
        )
    )
    payment.refund(
        b.transaction(
            TransactionKind.REFUND,
            eur(1234),
            at=clock.advance(days=3),
            key="k-refund",
            reference=reference,
        )
    )
    await write(backend, lambda uow: uow.payments.add(payment))

    stored = await read(backend, lambda uow: uow.payments.get(payment.id))

    assert stored == payment
    assert stored is not None
    assert stored.status is PaymentStatus.PARTIALLY_REFUNDED
    assert [tx.kind for tx in stored.transactions] == [
        TransactionKind.AUTHORIZE,
        TransactionKind.CAPTURE,
        TransactionKind.REFUND,
    ]
    assert stored.refundable == eur(5000 - 1234)
    assert stored.events == []


async def test_a_declined_payment_reads_back_without_a_reference(
    backend: Backend, clock: ManualClock
) -> None:
    declined = Payment.declined(
        id=new_id(),
        order_id=new_id(),
        amount=eur(700),
        transaction=Transaction(
            kind=TransactionKind.AUTHORIZE,
            amount=eur(700),
            succeeded=False,
            reference=None,
            idempotency_key="k",
            message="card declined",
            at=clock.now(),
        ),
        failed=False,
    )
    await write(backend, lambda uow: uow.payments.add(declined))

    stored = await read(backend, lambda uow: uow.payments.get(declined.id))

    assert stored == declined
    assert stored is not None
    assert stored.gateway_reference is None
    assert stored.status is PaymentStatus.DECLINED


async def test_for_order_lists_every_payment_of_that_order_only(backend: Backend) -> None:
    order_id = new_id()
    first, retry = b.payment(order_id=order_id), b.payment(order_id=order_id, amount=10)
    other = b.payment()
    await add_all(backend, first, other, retry)

    found = await read(backend, lambda uow: uow.payments.for_order(order_id))

    assert sorted(found, key=lambda p: p.id) == sorted([first, retry], key=lambda p: p.id)
    assert len(found) == 2
    assert await read(backend, lambda uow: uow.payments.for_order(new_id())) == []
    assert await read(backend, lambda uow: uow.payments.get(new_id())) is None
