"""The address `shopcore serve` hands to granian: an IP literal (granian parses no host name),
and only once nothing listens there (granian's own bind would share the port instead)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from apps.server import CannotServe, bindable


def _listening(reuse_port: bool) -> socket.socket:
    sock = socket.socket()
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_host_name_becomes_the_address_it_resolves_to() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert ipaddress.ip_address(bindable("localhost", port)).is_loopback


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "so-reuseport"])
def test_a_port_something_listens_on_is_refused(reuse_port: bool) -> None:
    with _listening(reuse_port) as sock:
        port = sock.getsockname()[1]
        with pytest.raises(CannotServe, match=f"127.0.0.1:{port} is already in use"):
            bindable("127.0.0.1", port)


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(CannotServe, match="cannot resolve"):
        bindable("no-such-host.invalid", 8000)
