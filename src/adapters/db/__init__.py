"""SQL persistence: SQLAlchemy 2 async, SQLite by default, PostgreSQL in production.

Arrives with issue [2 of 6]."""
