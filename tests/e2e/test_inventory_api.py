"""Stock availability over HTTP."""

from __future__ import annotations

from shopcore import ArchiveProduct
from tests.support.api import Api
from tests.support.storefront import assert_problem, bought


async def test_a_sku_shows_the_units_available_now(api: Api) -> None:
    await api.product("INV-A1", stock=7)

    response = await api.client.get("/v1/inventory/INV-A1")

    assert response.status_code == 200
    assert response.json() == {"sku": "INV-A1", "available": 7}


async def test_units_reserved_by_an_order_are_no_longer_available(api: Api) -> None:
    await api.product("INV-B1", stock=5)
    await bought(api, await api.customer(), "INV-B1", quantity=2)

    response = await api.client.get("/v1/inventory/INV-B1")

    assert response.json() == {"sku": "INV-B1", "available": 3}


async def test_a_sku_in_the_catalog_but_never_stocked_has_none_available(api: Api) -> None:
    await api.product("INV-C1", stock=0)

    response = await api.client.get("/v1/inventory/INV-C1")

    assert response.status_code == 200
    assert response.json() == {"sku": "INV-C1", "available": 0}


async def test_a_sku_not_in_the_catalog_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/inventory/NO-SUCH-SKU")

    assert_problem(response, 404, "not-found")


async def test_the_sku_of_an_archived_product_is_a_404_problem(api: Api) -> None:
    product = await api.product("INV-D1", stock=3)
    await api.shop.handle(ArchiveProduct(product_id=product.id))

    response = await api.client.get("/v1/inventory/INV-D1")

    assert_problem(response, 404, "not-found")


async def test_a_malformed_sku_is_refused_before_any_lookup(api: Api) -> None:
    response = await api.client.get("/v1/inventory/bad%20sku%00")

    assert_problem(response, 400, "invalid-request")
