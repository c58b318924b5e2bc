"""The payment gateway's webhook: signed, fresh, and each event handled once."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from adapters.http.signatures import TOLERANCE_SECONDS, signature, signature_header
from apps.api import build_app
from apps.components import Components
from tests.support.api import Api, test_settings
from tests.support.storefront import assert_problem

WEBHOOKS = "/v1/payments/webhooks"
SECRET = test_settings("sqlite://").webhook_secret or ""


def event(event_id: str = "evt_1", kind: str = "charge.refunded", **data: Any) -> bytes:
    return json.dumps(
        {"id": event_id, "type": kind, "data": data or {"reference": "ch_1"}}
    ).encode()


async def deliver(
    api: Api, body: bytes, *, header: str | None = None, at: float | None = None
) -> httpx.Response:
    signed = (
        header if header is not None else signature_header(SECRET, int(at or time.time()), body)
    )
    return await api.client.post(
        WEBHOOKS,
        content=body,
        headers={"Content-Type": "application/json", "X-Shopcore-Signature": signed},
    )


async def test_a_signed_known_event_is_acknowledged_and_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shopcore.webhooks"):
        response = await deliver(api, event("evt_known", "charge.refunded"))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "event_id": "evt_known",
        "type": "charge.refunded",
        "outcome": "acknowledged",
    }
    assert any("evt_known" in record.getMessage() for record in caplog.records)


async def test_an_unknown_event_type_is_ignored_with_a_200(api: Api) -> None:
    response = await deliver(api, event("evt_other", "customer.created"))

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"


async def test_a_redelivered_event_is_answered_again_without_handling_it(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    body = event("evt_twice", "charge.captured")
    with caplog.at_level(logging.INFO, logger="shopcore.webhooks"):
        first = await deliver(api, body)
        # The gateway signs each delivery anew: a later timestamp, the same event.
        second = await deliver(api, body, at=time.time() + 1)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    handled = [r for r in caplog.records if "evt_twice" in r.getMessage()]
    assert len(handled) == 1


async def test_an_event_id_reused_for_another_body_is_a_422(api: Api) -> None:
    await deliver(api, event("evt_reused", "charge.captured"))

    response = await deliver(api, event("evt_reused", "charge.refunded"))

    assert_problem(response, 422, "idempotency-key-reused")


async def test_a_missing_signature_is_a_400(api: Api) -> None:
    response = await api.client.post(
        WEBHOOKS, content=event(), headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400, "webhook-signature-missing")


@pytest.mark.parametrize(
    "header",
    [
        "t=abc,v1=" + "0" * 64,
        "v1=" + "0" * 64,
        "t=1700000000",
        "garbage",
        "t=" + "9" * 13 + ",v1=" + "0" * 64,
        "x" * 2000,
    ],
)
async def test_a_malformed_signature_header_is_a_400(api: Api, header: str) -> None:
    response = await deliver(api, event(), header=header)

    assert response.status_code == 400
    assert response.json()["code"] in {"webhook-signature-invalid", "webhook-signature-expired"}


async def test_a_signature_header_with_non_ascii_bytes_is_a_400(api: Api) -> None:
    body = event()
    header = f"t={int(time.time())},v1=".encode() + "é".encode() * 32

    response = await api.client.post(
        WEBHOOKS,
        content=body,
        headers={"Content-Type": "application/json", "X-Shopcore-Signature": header},  # type: ignore[dict-item]
    )

    assert_problem(response, 400, "webhook-signature-invalid")


async def test_a_signature_made_with_another_secret_is_a_400(api: Api) -> None:
    body = event("evt_forged")

    response = await deliver(
        api, body, header=signature_header("not-the-secret" * 3, int(time.time()), body)
    )

    assert_problem(response, 400, "webhook-signature-invalid")


async def test_a_signature_over_another_body_is_a_400(api: Api) -> None:
    now = int(time.time())
    header = signature_header(SECRET, now, event("evt_original"))

    response = await deliver(api, event("evt_tampered"), header=header)

    assert_problem(response, 400, "webhook-signature-invalid")


async def test_one_matching_signature_among_several_is_enough(api: Api) -> None:
    body = event("evt_rotated")
    now = int(time.time())
    header = f"t={now},v1={'0' * 64},v1={signature(SECRET, now, body)}"

    response = await deliver(api, body, header=header)

    assert response.status_code == 200


# A minute past the tolerance either way: the server reads its clock a moment after the test
# signs, and a 1-second margin turned a slow moment into an accepted delivery.
@pytest.mark.parametrize("offset", [-TOLERANCE_SECONDS - 60, TOLERANCE_SECONDS + 60])
async def test_a_stale_or_future_signature_is_a_400(api: Api, offset: int) -> None:
    response = await deliver(api, event("evt_stale"), at=time.time() + offset)

    assert_problem(response, 400, "webhook-signature-expired")


async def test_a_stale_delivery_is_not_recorded(api: Api) -> None:
    body = event("evt_late")
    await deliver(api, body, at=time.time() - 600)

    response = await deliver(api, body)

    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"type": "charge.refunded"}).encode(),
        json.dumps({"id": "evt 1", "type": "charge.refunded"}).encode(),
        json.dumps({"id": "evt_1", "type": "Charge Refunded!"}).encode(),
        json.dumps(["a", "list"]).encode(),
    ],
)
async def test_a_signed_body_that_is_not_an_event_is_a_400(api: Api, body: bytes) -> None:
    response = await deliver(api, body)

    assert_problem(response, 400, "invalid-request")


async def test_a_signed_body_that_is_not_json_is_a_400(api: Api) -> None:
    response = await deliver(api, b"{not json")

    assert_problem(response, 400, "bad-request")


async def test_extra_event_members_from_the_gateway_are_accepted(api: Api) -> None:
    body = json.dumps(
        {"id": "evt_rich", "type": "charge.captured", "data": {}, "livemode": False}
    ).encode()

    response = await deliver(api, body)

    assert response.status_code == 200


async def test_without_a_configured_secret_every_delivery_is_refused() -> None:
    settings = test_settings(None, webhook_secret=None)  # type: ignore[arg-type]
    app = build_app(Components(settings))
    body = event("evt_nosecret")
    async with AsyncTestClient(app) as client:
        response = await client.post(
            WEBHOOKS,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopcore-Signature": signature_header("", int(time.time()), body),
            },
        )

    # Not a 503: the gateway would take the endpoint for down and redeliver for days.
    assert_problem(response, 404, "webhooks-disabled")
