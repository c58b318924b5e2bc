"""`shopcore serve` on granian: its ASGI interface, uvloop, one worker process per `--workers`.

granian serves from worker processes even with one worker: the process `shopcore serve`
started supervises, its children serve. What that changes, and what this module does about it:

- A worker outlives a SIGKILLed parent and goes on serving the port. Each worker asks the
  kernel to SIGKILL it when its parent dies (Linux's PR_SET_PDEATHSIG), so killing the pid
  that was started takes the whole API down, as a crash does.
- Workers bind with SO_REUSEPORT: a second server on a port that one already serves would
  start without an error and share its connections. The port is tried without it first.
- On SIGTERM or SIGINT the parent stops its workers with SIGTERM. A worker stops accepting,
  lets every open connection finish, then runs the app's lifespan shutdown; a stock stream
  never finishes by itself, so the worker's stop signal also ends the open streams at once
  (their clients reconnect to another instance and resume with Last-Event-ID). A worker not
  done after its grace (SHOPCORE_SHUTDOWN_GRACE_SECONDS: a request stuck for good) is SIGKILLed
  by its parent.

granian reads no proxy header: the ASGI `client` is the peer, unless the peer is one of
SHOPCORE_TRUSTED_PROXIES, whose X-Forwarded-For the app itself reads (adapters/http/edge.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import functools
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from granian import _signals
from granian.constants import HTTPModes, Interfaces, Loops
from granian.log import LogLevels
from granian.server import MPServer
from litestar import Litestar

from apps import logs
from apps.api import build_app
from apps.components import Components
from apps.settings import Settings

_PR_SET_PDEATHSIG = 1

# What a worker does the moment it is told to stop, before its connections drain.
_when_stopping: list[Callable[[], Coroutine[Any, Any, None]]] = []
_running: set[asyncio.Task[None]] = set()


class CannotServe(Exception):
    """The address cannot be served: in use, or not an address of this host."""


def worker_app() -> Litestar:
    """The app of one worker process; its open stock streams end when the worker is told to
    stop."""
    components = Components(Settings.from_env())
    _when_stopping.append(components.stock_feed.stop)
    return build_app(components)


def bindable(host: str, port: int) -> str:
    """The IP address to bind for `host`, once nothing listens on `port` there."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise CannotServe(f"cannot resolve {host}: {error.strerror}") from error
    with socket.socket(family, kind) as probe:
        # SO_REUSEADDR as granian sets it (a closed connection's TIME_WAIT does not count),
        # without SO_REUSEPORT, which would share the port with another granian.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotServe(
                    f"{host}:{port} is already in use (another shopcore serve?): stop it or "
                    "choose another --port"
                ) from error
            raise CannotServe(f"cannot bind {host}:{port}: {error.strerror}") from error
    return str(address[0])


def serve(
    host: str,
    port: int,
    workers: int,
    app: Callable[[], Any] = worker_app,
    log_level: str = "info",
    grace_seconds: int = 30,
) -> None:
    """Serve the ASGI app `app()` builds in each worker until SIGTERM or SIGINT; returns once
    every worker has stopped. The workers log as the CLI does (apps/logs.py), granian's own
    lines (a worker that died, one restarted) included, from `log_level` up. After a stop
    signal a worker has `grace_seconds` for its requests in flight and its shutdown."""
    server = MPServer(
        f"{app.__module__}:{app.__qualname__}",
        address=bindable(host, port),
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.auto,
        websockets=False,
        log_access=False,
        log_level=LogLevels(log_level),
        log_dictconfig=logs.config(log_level),
        workers_kill_timeout=grace_seconds,
    )
    server.serve(
        spawn_target=functools.partial(_worker, os.getpid(), log_level),
        target_loader=app,
        wrap_loader=False,
    )


def _worker(parent: int, log_level: str, *args: Any, **kwargs: Any) -> None:
    """A worker process: bound to its parent's life, logging as its parent does, then
    granian's ASGI worker (lifespan included), whose stop signal also runs `_when_stopping`."""
    _die_with(parent)
    logs.configure(log_level)
    _signals.set_loop_signals = _also_when_stopping(_signals.set_loop_signals)
    MPServer._spawn_asgi_lifespan_worker(*args, **kwargs)


def _die_with(parent: int) -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def _also_when_stopping(
    set_loop_signals: Callable[[asyncio.AbstractEventLoop], Any],
) -> Callable[[asyncio.AbstractEventLoop], Any]:
    """granian's worker reads its stop signals through `set_loop_signals`, which returns the
    event its server drains on; the signals then set that event and start `_when_stopping`."""

    def with_hooks(loop: asyncio.AbstractEventLoop) -> Any:
        stop = set_loop_signals(loop)

        def stopping() -> None:
            stop.set()
            while _when_stopping:
                task = loop.create_task(_when_stopping.pop(0)())
                _running.add(task)
                task.add_done_callback(_running.discard)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping)
        return stop

    return with_hooks
