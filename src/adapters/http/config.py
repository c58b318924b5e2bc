"""What the HTTP adapter needs to know, handed over by the composition root."""

from __future__ import annotations

import msgspec


class HttpConfig(msgspec.Struct, frozen=True, kw_only=True):
    jwt_secret: str = msgspec.field()  # HS256 key, at least 32 bytes
    jwt_issuer: str = "shopcore"
    jwt_audience: str = "shopcore-api"
    access_token_seconds: int = 15 * 60
    refresh_token_days: int = 30
    cors_origins: tuple[str, ...] = ()
    # Load balancers whose forwarded headers are believed (addresses or networks); empty: none.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    idempotency_hours: int = 24
    # How long a checkout may take; a retry of one whose request died waits this long.
    settle_within_seconds: int = 60
    webhook_secret: str = ""
    # Bearer token of GET /metrics; empty: loopback clients only.
    metrics_token: str = ""
    # Requests per minute and client address; auth and checkout have their own, tighter limits.
    rate_limit_per_minute: int = 600
    auth_rate_limit_per_minute: int = 10
    checkout_rate_limit_per_minute: int = 30
    # Server-sent stock streams: a comment line this often keeps idle connections open, and
    # clients are told to reconnect after this long when a stream ends.
    stream_heartbeat_seconds: float = 15.0
    stream_retry_ms: int = 2_000
    # Open streams per client address and per process, and how long one stays open before
    # its client is sent to reconnect (stream_slots.py).
    stream_max_per_client: int = 16
    stream_max_per_process: int = 1_000
    stream_max_seconds: float = 3_600.0
    version: str = "0.1.0"
