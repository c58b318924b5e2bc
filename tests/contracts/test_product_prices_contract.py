"""What every product repository's price read (`ProductRepository.prices`) must do: give what
the products themselves say, read as values: each known SKU with its product's id and name,
its variant's price, and whether the product sells; archived products' SKUs not sellable;
unknown SKUs absent; a committed price change read at once, one staged but not committed not
(nothing is loaded into the unit, so the read is what is stored)."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from shopcore.catalog.model import Variant
from shopcore.catalog.queries import price_list
from shopcore.catalog.views import SkuPrice
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur


async def test_prices_say_what_the_products_say(backend: Backend, clock: ManualClock) -> None:
    tee = b.product(name="Tee", skus=["TEE-S", "TEE-M"], prices=[1999, 2099])
    mug = b.product(name="Mug", skus=["MUG-1"], prices=[900])
    old = b.product(name="Old cap", skus=["CAP-1"], prices=[500])
    await add_all(backend, tee, mug, old)
    async with backend.uow() as uow:
        archived = await uow.products.get(old.id)
        assert archived is not None
        archived.archive(clock.now())
        await uow.commit()
    wanted = ["TEE-M", "CAP-1", "MUG-1", "NO-SUCH", "TEE-M"]

    async with backend.uow() as uow:
        found = await uow.products.prices(wanted)
        products = await uow.products.by_skus(wanted)

    assert found == await price_list(backend.uow(), wanted)
    assert found == {
        variant.sku: SkuPrice(
            sku=variant.sku,
            product_id=product.id,
            name=product.name,
            price=variant.price,
            sellable=product.is_sellable,
        )
        for product in products
        for variant in product.variants
        if variant.sku in wanted
    }
    assert found == {
        "TEE-M": SkuPrice(
            sku="TEE-M", product_id=tee.id, name="Tee", price=eur(2099), sellable=True
        ),
        "MUG-1": SkuPrice(
            sku="MUG-1", product_id=mug.id, name="Mug", price=eur(900), sellable=True
        ),
        "CAP-1": SkuPrice(
            sku="CAP-1", product_id=old.id, name="Old cap", price=eur(500), sellable=False
        ),
    }


async def test_a_committed_price_is_read_at_once_and_a_staged_one_is_not(
    backend: Backend, clock: ManualClock
) -> None:
    tee = b.product(skus=["TEE-S"], prices=[1999])
    await add_all(backend, tee)

    async with backend.uow() as uow:
        stored = await uow.products.get(tee.id)
        assert stored is not None
        stored.update(
            variants=(Variant(sku="TEE-S", price=eur(2500)),), currency=b.CURRENCY, now=clock.now()
        )
        staged = await uow.products.prices(["TEE-S"])
        await uow.commit()

    assert staged["TEE-S"].price == eur(1999)
    async with backend.uow() as uow:
        assert (await uow.products.prices(["TEE-S"]))["TEE-S"].price == eur(2500)
        assert await uow.products.prices([]) == {}


# A checkout reads its cart, then the prices of its lines, in one unit of work; the SQL units
# on PostgreSQL bring the prices with the cart. Whatever a unit does, the prices are the
# catalog's, for exactly the SKUs asked.
async def test_prices_read_after_a_cart_are_the_catalogs(
    backend: Backend, clock: ManualClock
) -> None:
    tee = b.product(name="Tee", skus=["TEE-S", "TEE-M"], prices=[1999, 2099])
    old = b.product(name="Old cap", skus=["CAP-1"], prices=[500])
    mug = b.product(name="Mug", skus=["MUG-1"], prices=[900])
    cart = b.cart(lines={"TEE-M": 1, "CAP-1": 2, "GONE-1": 1})
    await add_all(backend, tee, old, mug, cart)
    async with backend.uow() as uow:
        archived = await uow.products.get(old.id)
        assert archived is not None
        archived.archive(clock.now())
        await uow.commit()
    expected = await price_list(backend.uow(), ["TEE-M", "CAP-1", "GONE-1", "MUG-1"])

    async with backend.uow() as uow:
        assert await uow.carts.get(cart.id) is not None
        of_its_lines = await uow.products.prices(["TEE-M", "CAP-1", "GONE-1"])
        again = await uow.products.prices(["CAP-1"])
    async with backend.uow() as uow:
        assert await uow.carts.get(cart.id) is not None
        beyond_its_lines = await uow.products.prices(["TEE-M", "MUG-1"])

    assert of_its_lines == {sku: expected[sku] for sku in ("TEE-M", "CAP-1")}
    assert of_its_lines["CAP-1"].sellable is False
    assert "GONE-1" not in of_its_lines
    assert again == {"CAP-1": expected["CAP-1"]}
    assert beyond_its_lines == {sku: expected[sku] for sku in ("TEE-M", "MUG-1")}


async def test_a_units_commit_drops_the_prices_it_read_with_a_cart(
    backend: Backend, clock: ManualClock
) -> None:
    tee = b.product(name="Tee", skus=["TEE-M"], prices=[2099])
    cart = b.cart(lines={"TEE-M": 1})
    await add_all(backend, tee, cart)
    uow = backend.uow()
    async with uow:
        assert await uow.carts.get(cart.id) is not None
        dearer = await uow.products.get(tee.id)
        assert dearer is not None
        dearer.update(
            variants=(Variant(sku="TEE-M", price=eur(2599)),),
            currency=b.CURRENCY,
            now=clock.now(),
        )
        await uow.commit()
        after_the_commit = await uow.products.prices(["TEE-M"])
    async with uow:
        assert await uow.carts.get(cart.id) is not None
        in_the_next_block = await uow.products.prices(["TEE-M"])

    assert after_the_commit["TEE-M"].price == eur(2599)
    assert in_the_next_block["TEE-M"].price == eur(2599)
