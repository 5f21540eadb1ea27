"""A private X server for the tests that open real (xcb) windows."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def xvfb_display(width: int, height: int) -> Iterator[str]:
    """Run Xvfb with one ``width`` × ``height`` screen for the block; yields its display (":N"). Skips the test
    where Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                               "-nolisten", "tcp"], pass_fds=(write_fd,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as stream:
            display = stream.readline().strip()
        assert display.isdigit(), "Xvfb did not report a display number"
        yield f":{display}"
    finally:
        server.terminate()
        server.wait(10)
