"""The test suite's own guard: a connection beyond loopback fails the test that makes it."""
from __future__ import annotations

import socket

import pytest


def test_a_connection_beyond_loopback_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(AssertionError, match="loopback"):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves


def test_loopback_connections_go_through():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with socket.create_connection(srv.getsockname(), timeout=2) as c:
            assert c.getpeername()[0] == "127.0.0.1"
