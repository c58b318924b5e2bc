"""The Litestar application factory. The composition root builds every collaborator and hands
them over finished; nothing here knows which database, cache or gateway sits behind them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from litestar.routes import HTTPRoute
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from litestar.types import ASGIApp

from adapters.http import edge
from adapters.http.catalog_edge import CatalogEdge, answers_like_litestar
from adapters.http.config import HttpConfig
from adapters.http.controllers import catalog
from adapters.http.controllers.admin_catalog import AdminCatalogController
from adapters.http.controllers.admin_inventory import AdminInventoryController
from adapters.http.controllers.admin_orders import AdminOrdersController
from adapters.http.controllers.auth import AuthController
from adapters.http.controllers.carts import CartsController
from adapters.http.controllers.catalog import CatalogController
from adapters.http.controllers.checkout import CheckoutController
from adapters.http.controllers.customers import CustomersController
from adapters.http.controllers.health import HealthController
from adapters.http.controllers.inventory import InventoryController
from adapters.http.controllers.metrics import MetricsController, RequestMetrics, metrics_config
from adapters.http.controllers.orders import OrdersController
from adapters.http.controllers.webhooks import WebhooksController
from adapters.http.docs_ui import LocalSwaggerPage, docs_assets
from adapters.http.json_requests import JsonRequest
from adapters.http.openapi_document import FinishedJsonRenderPlugin
from adapters.http.problems import EXCEPTION_HANDLERS
from adapters.http.services import ApiServices as ApiServices
from adapters.http.throttling import FixedWindowRateLimitMiddleware
from adapters.http.unrouted import UnroutedLimits

# Controllers that later parts of the API add are registered here, in one place.
CONTROLLERS: list[Any] = [
    CatalogController,
    HealthController,
    AuthController,
    CustomersController,
    AdminCatalogController,
    AdminInventoryController,
    AdminOrdersController,
    WebhooksController,
    MetricsController,
    InventoryController,
    CartsController,
    CheckoutController,
    OrdersController,
]


def _constant(value: Any) -> Provide:
    async def provide() -> Any:
        return value

    return Provide(provide, use_cache=True)


def rate_limits(config: HttpConfig) -> dict[str, RateLimitConfig]:
    """One limiter per bucket, each with its own store namespace; each counts requests in a
    fixed window (`FixedWindowRateLimitMiddleware`)."""
    exclude = ["/health", "/metrics", "/docs"]
    return {
        "default": RateLimitConfig(
            rate_limit=("minute", config.rate_limit_per_minute),
            exclude=exclude,
            store="rate_limit",
            middleware_class=FixedWindowRateLimitMiddleware,
        ),
        "auth": RateLimitConfig(
            rate_limit=("minute", config.auth_rate_limit_per_minute),
            store="rate_limit_auth",
            middleware_class=FixedWindowRateLimitMiddleware,
        ),
        "checkout": RateLimitConfig(
            rate_limit=("minute", config.checkout_rate_limit_per_minute),
            store="rate_limit_checkout",
            middleware_class=FixedWindowRateLimitMiddleware,
        ),
    }


# The order /docs lists the operations in: a shopper's way through the shop, then the staff's,
# then what only machines call.
TAGS = (
    Tag(name="catalog", description="Browse the products and their variants."),
    Tag(name="inventory", description="How many units of a SKU are available, once or live."),
    Tag(name="customers", description="Register, and read or change your own account."),
    Tag(name="auth", description="Log in for an access token, refresh it, log out."),
    Tag(name="carts", description="Fill a cart, anonymous or signed in."),
    Tag(name="checkout", description="Turn a cart into an order: reserve, pay, confirm."),
    Tag(name="orders", description="Your orders, and cancelling one."),
    Tag(name="admin", description="Staff only: products, stock, orders and refunds."),
    Tag(name="payments", description="Webhooks the payment gateway calls."),
    Tag(name="operations", description="Health checks and Prometheus metrics."),
)


def openapi_config(config: HttpConfig) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="shopcore API",
        version=config.version,
        description=(
            "The HTTP API of shopcore, the backend of an online shop. Money is always "
            "`{amount, currency}` with `amount` in integer minor units. Errors are RFC 9457 "
            "`application/problem+json` documents with a stable `type`."
        ),
        path="/docs",
        render_plugins=[LocalSwaggerPage(), FinishedJsonRenderPlugin()],
        servers=[Server(url="/")],
        tags=list(TAGS),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="An access token from POST /v1/auth/token.",
                ),
                "MetricsToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The operator's `SHOPCORE_METRICS_TOKEN` (GET /metrics only).",
                ),
            }
        ),
        use_handler_docstrings=False,
        create_examples=False,
    )


def _options_answer_every_method(app: Litestar) -> None:
    """Litestar 2 gives each path an OPTIONS handler whose `Allow` lists the methods its route
    had when the handler was made; a path whose methods are registered in turn (a PATCH and a
    DELETE on one item) keeps the first route's, so `Allow` missed methods
    (litestar-org/litestar#4169, fixed in Litestar 3 only). Each route's own OPTIONS handler
    is pointed at the route it serves now."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            fn = getattr(handler.fn, "__func__", handler.fn)
            if getattr(fn, "__qualname__", "").startswith("HTTPRoute.create_options_handler"):
                for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
                    if name == "self":
                        cell.cell_contents = route


def create_app(services: ApiServices) -> Litestar:
    config = services.config
    limits = rate_limits(config)
    metrics = metrics_config()
    middleware = [metrics.middleware, limits["default"].middleware]
    factory = services.store_factory or (lambda _name: MemoryStore())
    api = Router(
        path="/",
        route_handlers=[*CONTROLLERS, *services.extra_controllers, docs_assets()],
    )
    app = Litestar(
        route_handlers=[api],
        dependencies={
            "shop": _constant(services.shop),
            "services": _constant(services),
            "readiness": _constant(tuple(services.readiness)),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=middleware,
        stores=StoreRegistry(default_factory=factory),
        state=State({"tokens": services.tokens, "services": services, "limits": limits}),
        cors_config=CORSConfig(
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token"],
            expose_headers=[
                "X-Cart-Token",
                "Idempotent-Replayed",
                "Retry-After",
                "ETag",
                "X-Request-Id",
            ],
        )
        if config.cors_origins
        else None,
        openapi_config=openapi_config(config),
        request_max_body_size=config.max_body_bytes,
        request_class=JsonRequest,
        on_startup=list(services.on_startup),
        on_shutdown=list(services.on_shutdown),
        # The entry point configures logging for the whole process (apps/logs.py); Litestar's
        # default would put a second format on the root logger.
        logging_config=None,
        debug=False,
    )
    _options_answer_every_method(app)
    # The default limit and the metrics as the catalog's edge path takes them: counting with
    # the routes' limiters (same config, same counts) and recording in the same series. Never
    # called as middleware, so the app they would wrap does not matter.
    limiter = FixedWindowRateLimitMiddleware(app, limits["default"])
    recorder = RequestMetrics(app, metrics)

    def catalog_edge(inner: ASGIApp) -> ASGIApp:
        return CatalogEdge(
            inner,
            services.catalog_reads,
            limiter,
            recorder,
            detail=lambda product_id: catalog.detail(services, product_id),
        )

    def unrouted(inner: ASGIApp) -> ASGIApp:
        return UnroutedLimits(inner, limiter)

    proxies = config.trusted_proxies
    if not answers_like_litestar(app, middleware):
        return edge.install(app, unrouted, trusted_proxies=proxies, outermost=services.outermost)
    return edge.install(
        app, catalog_edge, unrouted, trusted_proxies=proxies, outermost=services.outermost
    )
