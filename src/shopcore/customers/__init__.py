"""Customers: registration, authentication through a PasswordHasher port, roles, addresses."""
