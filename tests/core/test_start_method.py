"""How DataLoader workers start: fork in a single-threaded script, also right after another DataLoader."""

import sys
import threading

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.data import datasets

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("start_method")
    for i in range(8):
        Image.fromarray(np.full((8, 8), i * 30, np.uint8), mode="L").save(root / f"{i}.png")
    return datasets.open_folder(root)


def test_fork_right_after_a_dataloader_with_workers_ends(bundled, small_folder):
    """A finished DataLoader's closed queue leaves a feeder thread that ends a moment later; it used to
    make about one in seven of the next DataLoaders start by the slow "spawn"."""
    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process")
    methods = []
    for _ in range(12):
        decoded = [b.indices.tolist() for b in datasets.batches(small_folder, bundled.preprocessor(), range(8),
                                                                 batch_size=4, workers=1)]
        assert decoded == [[0, 1, 2, 3], [4, 5, 6, 7]]
        methods.append(datasets.start_method())
    assert methods == ["fork"] * 12


def test_spawn_while_another_thread_runs():
    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process")
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert datasets.start_method() == "spawn"
    finally:
        release.set()
        thread.join()
    assert datasets.start_method() == "fork"
