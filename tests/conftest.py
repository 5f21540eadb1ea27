"""Settings for the whole suite: under pytest-xdist (``-n 2`` in CI) each worker process runs torch on
one thread, so that two workers share a 2-core machine instead of fighting over it; and the longest tests
run first, so that they start while the short ones fill the other worker instead of leaving one worker
running alone at the end."""

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

LONG_FIRST = ("tests/gui/app/test_window_layout.py", "tests/gui/test_soak.py", "tests/gui/app/test_every_button.py",
              "tests/core/training/test_train_cli.py", "tests/gui/app/test_cli.py", "tests/core/test_run_cli.py")
"""Test files that take a minute or more of a worker (see ``--durations``), longest first."""


def _rank(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)
