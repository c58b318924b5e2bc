"""The HTTP API (Litestar + msgspec). Arrives with issue [3 of 6]."""
