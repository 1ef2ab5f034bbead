"""Helpers shared by the tests that start other Python processes."""
import os
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(**extra):
    """Environment for a child Python process: the package importable, TF quiet,
    no inherited TF_CONFIG, plus `extra`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


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
