"""Settings for the whole suite: under pytest-xdist (``-n 2`` in CI) each worker process runs torch on
one thread, so that two workers share a 2-core machine instead of fighting over it."""

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
