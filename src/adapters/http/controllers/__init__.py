"""Route handlers per context: decode, authorize, call the core, encode. No business rules."""
