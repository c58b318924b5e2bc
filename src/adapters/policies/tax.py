"""Tax by destination country, in basis points (1900 = 19 %)."""

from __future__ import annotations

from collections.abc import Mapping

from shopcore.shared.errors import InvalidInput

# Standard VAT rates of a few markets; the default applies elsewhere.
EU_STANDARD_RATES = {"DE": 1900, "FR": 2000, "NL": 2100, "AT": 2000, "IT": 2200, "ES": 2100}


class CountryTax:
    def __init__(self, rates: Mapping[str, int], default: int = 0) -> None:
        if any(rate < 0 or rate > 10_000 for rate in [*rates.values(), default]):
            raise InvalidInput("tax rates are basis points from 0 to 10000")
        self._rates = dict(rates)
        self._default = default

    def rate(self, country: str) -> int:
        return self._rates.get(country, self._default)
