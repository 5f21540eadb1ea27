"""Loading images from files, bytes and the bundled samples, and converting them for a model.

Images are kept as PIL images in their loaded mode (EXIF orientation applied); :func:`to_channels`
converts any Pillow mode to the 1- or 3-channel 8-bit image a model needs.
"""

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.core.resources import resource_path

MAX_PIXELS = 50_000_000
"""Largest image accepted, in pixels (width x height)."""


class ImageLoadError(Exception):
    """An image could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Sample:
    """A bundled sample image: ``path`` on disk, a ``title`` for menus, its ``kind``
    (``"fashion-mnist"`` or ``"photo"``) and the class it shows (``label``; None if no class fits)."""

    path: Path
    title: str
    kind: str
    label: str | None


def load_image(path: str | Path) -> Image.Image:
    """Load an image file fully into memory, with its EXIF orientation applied.

    Raises :class:`ImageLoadError` for missing, empty, truncated, non-image or oversized files
    (more than :data:`MAX_PIXELS` pixels).
    """
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(f"{path} does not exist.")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageLoadError(f"{path} could not be read: {error.strerror or error}.") from error
    return load_image_bytes(data, name=str(path))


def load_image_bytes(data: bytes, name: str = "the image") -> Image.Image:
    """Decode an image from encoded bytes (PNG, JPEG, …); see :func:`load_image` for the errors."""
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        raise ImageLoadError(
            f"{name} is not an image Pillow can read. Use PNG, JPEG, BMP, GIF, TIFF or WebP."
        ) from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"{name} is {width}×{height} = {width * height / 1e6:.0f} megapixels; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels. Downscale it first."
        )
    if width == 0 or height == 0:
        raise ImageLoadError(f"{name} has no pixels ({width}×{height}).")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(
            f"{name} is damaged or truncated and could not be decoded ({error})."
        ) from error
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, KeyError, SyntaxError):
        pass  # a broken EXIF block only loses the orientation; the pixels are fine
    return image


def to_channels(image: Image.Image, channels: int) -> Image.Image:
    """Convert ``image`` of any Pillow mode to 8-bit ``"L"`` (channels=1) or ``"RGB"`` (channels=3).

    Transparent pixels are composited over white; 16/32-bit integer and float images are rescaled from
    their own min..max to 0..255; CMYK and palette images are converted by Pillow's colour rules.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")
    elif (mode == "P" and "transparency" in image.info) or mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("L" if channels == 1 else "RGB")


def from_array(array: np.ndarray) -> Image.Image:
    """Make a PIL image from a uint8 array [H, W] (grey) or [H, W, 3|4] (RGB/RGBA)."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {array.dtype}")
    if array.ndim == 2:
        return Image.fromarray(array, mode="L")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return Image.fromarray(array, mode="RGB" if array.shape[2] == 3 else "RGBA")
    raise ValueError(f"expected [H, W], [H, W, 3] or [H, W, 4], got {array.shape}")


def samples() -> list[Sample]:
    """The bundled sample images, in the order listed in ``resources/samples/samples.json``."""
    folder = resource_path("samples")
    entries = json.loads((folder / "samples.json").read_text(encoding="utf-8"))
    return [Sample(folder / e["file"], e["title"], e["kind"], e["label"]) for e in entries]


def sample(name: str) -> Sample:
    """The bundled sample whose file name (with or without extension) or title is ``name``."""
    for candidate in samples():
        if name in (candidate.path.name, candidate.path.stem, candidate.title):
            return candidate
    known = ", ".join(s.path.stem for s in samples())
    raise KeyError(f"no bundled sample called {name!r}; known samples: {known}")


def default_sample() -> Sample:
    """The sample shown at start-up with the bundled model."""
    return sample("fmnist_ankle_boot")
