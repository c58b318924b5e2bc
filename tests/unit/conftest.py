from __future__ import annotations

import pytest

from tests.support.driver import ShopDriver, build_driver


@pytest.fixture
def driver() -> ShopDriver:
    return build_driver()
