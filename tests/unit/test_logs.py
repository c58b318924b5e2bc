"""One log format: JSON lines off a terminal, readable ones on it; every line written while a
request is handled carries the id the answer returns in `X-Request-Id`."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx
import pytest
from litestar.types import Receive, Scope, Send

from adapters.http.edge import SecurityHeaders
from adapters.machinery import request_ids
from apps.logs import Lines, RequestId

logger = logging.getLogger("shopcore.test_logs")


def record(message: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    made = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    RequestId().filter(made)
    return made


def test_a_json_line_has_the_time_level_logger_message_and_extra_fields() -> None:
    line = Lines(as_json=True).format(record("sent %d emails", 3, order_id="o-1"))

    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "shopcore.test_logs"
    assert entry["message"] == "sent 3 emails"
    assert entry["order_id"] == "o-1"
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in entry  # written outside any request
    assert "\n" not in line


def test_an_error_keeps_its_traceback_inside_its_one_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    line = Lines(as_json=True).format(failed)

    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["error"]


def test_a_terminal_gets_readable_lines_with_the_request_id() -> None:
    token = request_ids.current.set("r-42")
    try:
        line = Lines(as_json=False).format(record("hello %s", "there"))
    finally:
        request_ids.current.reset(token)

    assert "INFO" in line and "shopcore.test_logs: hello there" in line
    assert line.endswith("[request r-42]")


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestId())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(Lines(as_json=True).format(record))


async def logging_app(scope: Scope, receive: Receive, send: Send) -> None:
    logger.warning("handling %s", scope["path"])
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def recorder() -> Any:
    handler = Recorder()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [(None, False), ("lb-7f3a.91", True), ("has space", False), ("x" * 65, False)],
)
async def test_each_request_logs_with_the_id_its_answer_returns(
    recorder: Recorder, sent: str | None, kept: bool
) -> None:
    transport = httpx.ASGITransport(app=SecurityHeaders(logging_app))
    headers = {"X-Request-Id": sent} if sent else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        first = await client.get("/a", headers=headers)
        second = await client.get("/b", headers=headers)

    ids = [json.loads(line)["request_id"] for line in recorder.lines]
    assert ids == [first.headers["x-request-id"], second.headers["x-request-id"]]
    if kept:
        assert ids == [sent, sent]
    else:
        assert ids[0] != ids[1] and sent not in ids  # a new id each, the caller's refused
    assert request_ids.current.get() is None  # nothing leaks past the request
