"""Ports of 127.0.0.1 free right now, for a server or a client that must listen on a port of its own."""
from __future__ import annotations

import socket


def _free(kind: int) -> int:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_udp_port() -> int:
    return _free(socket.SOCK_DGRAM)


def free_tcp_port() -> int:
    return _free(socket.SOCK_STREAM)
