"""Networking helpers shared by the multi-process tests."""
import socket


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (for multi-worker tests)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
