"""One log format for every process of the shop (the CLI, `serve`'s workers and granian's own
lines, the worker): JSON lines when stderr is not a terminal (a log collector reads them),
readable lines when it is. A line written while an HTTP request is handled carries the
request's id (adapters/machinery/request_ids.py), and with tracing on (apps/tracing.py) a line
written under a span its trace id."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any

from adapters.machinery import request_ids

# What a record holds besides what the logger call passed: never copied into a JSON line.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


try:  # the `tracing` extra (apps/tracing.py); without it there is no trace to name
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the dev group installs it
    _trace = None  # type: ignore[assignment]


class RequestId(logging.Filter):
    """The request's id, and under a recording span its trace id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_ids.current.get()
        if _trace is not None:
            context = _trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
        return True


class Lines(logging.Formatter):
    """JSON lines off a terminal, readable lines on one."""

    def __init__(self, *, as_json: bool | None = None) -> None:
        super().__init__()
        self.as_json = not sys.stderr.isatty() if as_json is None else as_json

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        if not self.as_json:
            when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
            line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
            if request_id:
                line += f" [request {request_id}]"
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
            return line
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id:
            entry["request_id"] = request_id
        entry.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def config(level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of every process: one handler on the root logger, which
    granian's loggers propagate to."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "apps.logs.RequestId"}},
        "formatters": {"lines": {"()": "apps.logs.Lines"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "lines",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # A line per migration step on every first start: the outcome is enough.
            "alembic": {"level": "WARNING"},
            "_granian": {"handlers": [], "propagate": True},
            "granian.access": {"handlers": [], "propagate": True},
        },
    }


def configure(level: str) -> None:
    logging.config.dictConfig(config(level))
