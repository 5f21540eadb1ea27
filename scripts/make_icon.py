"""Draw the cnnviz icon (three stacked feature maps with a bright unit) as 256×256 PNGs.

Writes resources/icons/cnnviz.png (used by the app window) and packaging/cnnviz.png (for the
.desktop entry). Run: python scripts/make_icon.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 256
ROOT = Path(__file__).resolve().parents[1]


def heat(value: float) -> tuple[int, int, int]:
    """A dark-blue → orange → yellow colour for ``value`` in [0, 1]."""
    stops = np.array([[20, 30, 70], [200, 60, 40], [250, 220, 80]], dtype=float)
    position = value * (len(stops) - 1)
    low = int(min(position, len(stops) - 2))
    mix = position - low
    return tuple(int(c) for c in stops[low] * (1 - mix) + stops[low + 1] * mix)


def draw_icon() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, SIZE - 8, SIZE - 8), radius=40, fill=(28, 32, 48, 255))
    rng = np.random.default_rng(7)
    for layer, offset in enumerate((50, 25, 0)):
        side, cells = 140, 5
        left, top = 32 + offset, 82 - offset
        cell = side / cells
        values = rng.random((cells, cells)) * (0.35 + 0.2 * layer)
        if layer == 2:
            values[2, 3] = 1.0
        for row in range(cells):
            for col in range(cells):
                box = (left + col * cell, top + row * cell, left + (col + 1) * cell - 2,
                       top + (row + 1) * cell - 2)
                draw.rectangle(box, fill=heat(float(values[row, col])))
        draw.rectangle((left - 2, top - 2, left + side, top + side), outline=(235, 235, 245), width=3)
    return image


if __name__ == "__main__":
    icon = draw_icon()
    for target in (ROOT / "resources" / "icons" / "cnnviz.png", ROOT / "packaging" / "cnnviz.png"):
        target.parent.mkdir(parents=True, exist_ok=True)
        icon.save(target, optimize=True)
