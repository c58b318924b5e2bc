"""The payment gateway's webhook: signed events, each handled once.

What it does today, honestly: it checks the signature, refuses stale or forged deliveries,
answers a redelivered event (same `id`) from the idempotency store without handling it again,
and logs the `charge.*` events shopcore knows. It changes no state: the shop learns the outcome
of every authorization, capture, void and refund synchronously from its own gateway calls, so
these events serve reconciliation (and later, asynchronous outcomes such as disputes).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, HeaderParameter

from adapters.http.idempotency import run_once
from adapters.http.problem_docs import problem
from adapters.http.problems import Problem, problem_response
from adapters.http.schemas.webhooks import (
    EVENT_EXAMPLE,
    RECEIPT_EXAMPLE,
    GatewayEvent,
    WebhookReceipt,
)
from adapters.http.services import ApiServices
from adapters.http.signatures import HEADER, MAX_HEADER, SignatureRejected, verify

logger = logging.getLogger("shopcore.webhooks")

# Idempotency owner of webhook deliveries: their key is the gateway's event id.
OWNER = "webhook"
KNOWN_TYPES = frozenset(
    {"charge.authorized", "charge.captured", "charge.voided", "charge.refunded", "charge.failed"}
)


class WebhooksDisabled(Exception):
    """No webhook secret is configured, so no delivery can be trusted."""


async def gateway_signature(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: the body must be signed with the webhook secret, before anything parses it."""
    services: ApiServices = connection.app.state["services"]
    secret = services.config.webhook_secret
    if not secret:
        raise WebhooksDisabled
    body = await Request[Any, Any, Any](connection.scope, connection.receive).body()
    verify(connection.headers.get(HEADER), body, secret, now=time.time())


def _rejected(_: Request[Any, Any, Any], error: SignatureRejected) -> Response[Problem]:
    return problem_response(400, "Invalid webhook signature", error.code, error.detail)


def _disabled(_: Request[Any, Any, Any], error: WebhooksDisabled) -> Response[Problem]:
    # 404, not 503: a gateway reads a 503 as an outage of a working endpoint and redelivers
    # for days; on this server no endpoint takes its deliveries until one is configured.
    return problem_response(
        404,
        "Webhooks disabled",
        "webhooks-disabled",
        "no webhook secret is configured (SHOPCORE_WEBHOOK_SECRET)",
    )


class WebhooksController(Controller):
    path = "/v1/payments/webhooks"
    tags = ("payments",)
    exception_handlers = {  # noqa: RUF012
        SignatureRejected: _rejected,
        WebhooksDisabled: _disabled,
    }

    @post(
        summary="Receive a payment gateway event",
        description="For the payment gateway, not for clients. The raw body must be signed in "
        f'`{HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the '
        "webhook secret>`; a signature more than 5 minutes old or ahead is refused. Each "
        "event is handled once: a redelivery with the same `id` gets the first answer again "
        "(`Idempotent-Replayed: true`). Known `charge.*` events are acknowledged and logged "
        "for reconciliation; no shop state changes, since the shop records every payment "
        "outcome from its own gateway calls. Other types are ignored with a 200, so the "
        "gateway stops redelivering them.",
        status_code=200,
        # On the delivery only: an OPTIONS carries no body to sign.
        guards=[gateway_signature],
        responses={
            200: ResponseSpec(
                WebhookReceipt,
                description="The event was received (or was received before)",
                generate_examples=False,
                examples=[RECEIPT_EXAMPLE],
            ),
            400: problem(
                400,
                "webhook-signature-invalid",
                "The signature is missing (`webhook-signature-missing`), stale "
                "(`webhook-signature-expired`) or wrong (`webhook-signature-invalid`), or the "
                "body is not an event (`invalid-request`)",
                "the signature does not match",
            ),
            409: problem(
                409, "idempotency-key-in-use", "The same event is being handled right now"
            ),
            422: problem(
                422,
                "idempotency-key-reused",
                "An event with this id but a different body was received before",
            ),
            404: problem(
                404,
                "webhooks-disabled",
                "No webhook secret is configured on this server, so it takes no deliveries",
            ),
        },
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        data: Annotated[GatewayEvent, Body(examples=[EVENT_EXAMPLE])],
        signature: Annotated[
            str | None,
            HeaderParameter(
                name=HEADER,
                required=True,
                max_length=MAX_HEADER,
                description='t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
            ),
        ] = None,
    ) -> Response[WebhookReceipt]:
        async def record() -> Response[WebhookReceipt]:
            known = data.type in KNOWN_TYPES
            logger.info(
                "payment gateway event %s (%s) %s",
                data.id,
                data.type,
                "acknowledged" if known else "ignored",
            )
            outcome = "acknowledged" if known else "ignored"
            return Response(WebhookReceipt(event_id=data.id, type=data.type, outcome=outcome))

        return await run_once(
            request,
            services.idempotency,
            owner=OWNER,
            key=data.id,
            ttl=timedelta(hours=services.config.idempotency_hours),
            work=record,
        )
