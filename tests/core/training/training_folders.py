"""Labelled image folders written on the fly for the training tests."""

from pathlib import Path

import numpy as np
from PIL import Image


def write_folder(root: Path, counts: dict[str, int], size: int = 16, seed: int = 0) -> Path:
    """A class-per-folder tree under ``root``: ``counts[class]`` PNGs each, a bright square whose place
    depends on the class (so a small network can learn them)."""
    rng = np.random.default_rng(seed)
    for index, (name, count) in enumerate(sorted(counts.items())):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (size, size), dtype=np.uint8)
            top = (index * 5) % (size - 4)
            pixels[top:top + 4, top:top + 4] = 255
            Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root
