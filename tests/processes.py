"""Helpers for tests that stop a real process part-way (kill -9, Ctrl-C, SIGTERM) and check what it left."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def signal_when(proc: subprocess.Popen, ready: Callable[[], bool], sig: int, *, timeout: float = 300.0,
                what: str = "the awaited state") -> tuple[str | None, str | None]:
    """Send ``sig`` to ``proc`` as soon as ``ready()`` is true; wait for it to end and return its output.

    Fails the test if the process ends first or ``ready()`` stays false for
    ``timeout`` seconds; never leaves the process running.
    """
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the process ended (status {proc.returncode}) before {what}: {out} {err}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
            time.sleep(0.02)
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
