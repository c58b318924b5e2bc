"""In-memory adapters for every port: first-class, used by tests and the embedded demo."""
