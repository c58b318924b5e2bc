"""The application layer: the async message bus, the unit-of-work port, event tracking."""
