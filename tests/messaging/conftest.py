from tests.support.messaging import bed, database, postgres

__all__ = ["bed", "database", "postgres"]
