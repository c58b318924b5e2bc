"""Tests that start the shop's own OS processes: `shopcore serve`, `worker`, `relay`, the CLI's
one-shot commands, races between processes. Every test here is marked `processes` (by the
suite's conftest), which `make check` leaves out."""

from tests.support.messaging import bed, database, postgres

__all__ = ["bed", "database", "postgres"]
