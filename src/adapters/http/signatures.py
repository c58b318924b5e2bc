"""Signed webhook deliveries, in Stripe's scheme.

    X-Shopcore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

The timestamp is signed with the body, so a captured delivery cannot be replayed after
`TOLERANCE_SECONDS`; several `v1` entries may be present while the secret is being rotated.
Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Shopcore-Signature"
TOLERANCE_SECONDS = 300
MAX_HEADER = 1024


class SignatureRejected(Exception):
    """Why a delivery was refused; `code` is the problem type's short form."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC a sender puts in `v1`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(header: str | None, body: bytes, secret: str, *, now: float) -> None:
    """Return if `header` signs `body` with `secret` recently enough; raise otherwise."""
    if not header:
        raise SignatureRejected("webhook-signature-missing", f"the {HEADER} header is missing")
    timestamp, candidates = _parse(header)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureRejected(
            "webhook-signature-expired",
            f"the signature's timestamp is more than {TOLERANCE_SECONDS} seconds away from now",
        )
    expected = signature(secret, timestamp, body)
    # Check every candidate, so the time taken does not tell which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate, expected)
    if not matched:
        raise SignatureRejected("webhook-signature-invalid", "the signature does not match")


def _parse(header: str) -> tuple[int, list[str]]:
    if len(header) > MAX_HEADER:
        raise SignatureRejected("webhook-signature-invalid", "the signature header is too long")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value.isascii() and len(value) == 64:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise SignatureRejected(
            "webhook-signature-invalid", "expected 't=<unix seconds>,v1=<hex HMAC-SHA256>'"
        )
    return timestamp, candidates
