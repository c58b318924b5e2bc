"""The HTTP adapter: a Litestar app over the core, built by `create_app(ApiServices(...))`."""

from adapters.http.app import ApiServices, create_app

__all__ = ["ApiServices", "create_app"]
