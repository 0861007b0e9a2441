"""Helpers for the tests that start a local server (JupyterLab, `labseg app`) on the loopback interface."""
from __future__ import annotations

from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, server, log: Path, seconds: float = 120) -> None:
    """Return once ``url`` answers; fail the test (with the server's log) if ``server`` exits or time runs out."""
    import time
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
    pytest.fail(f"the server did not answer {url} within {seconds:.0f} s: {log.read_text()[-2000:]}")
