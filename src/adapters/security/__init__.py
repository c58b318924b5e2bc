"""Security adapters: password hashing (argon2id)."""
