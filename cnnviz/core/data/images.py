"""Loading images from files, bytes and the bundled samples, and converting them for a model.

Images are kept as PIL images in their loaded mode (EXIF orientation applied); :func:`to_channels`
converts any Pillow mode to the 1- or 3-channel 8-bit image a model needs.
"""

import errno
import io
import json
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.core.data.resources import resource_path

MAX_PIXELS = 50_000_000
"""Largest image accepted, in pixels (width x height)."""

MAX_FILE_BYTES = 512 * 2**20
"""Largest encoded image accepted (a file, a paste or a drop), in bytes."""

MAX_ASPECT_RATIO = 20.0
"""Most elongated image accepted: the longer side at most this many times the shorter one."""

OPEN_LOCK = threading.Lock()
"""Serialises the warning filter around Pillow's header check (``warnings.catch_warnings`` is
process-wide)."""


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

    Only regular files are opened (after following links; a named pipe, device or socket is refused
    before it is opened, so loading never blocks), and at most :data:`MAX_FILE_BYTES` bytes are read.
    Raises :class:`ImageLoadError`, whose message names the file and the reason, for missing files,
    link loops, broken links, names the file system refuses, anything else :func:`load_image_bytes`
    refuses.
    """
    path = Path(path)
    return load_image_bytes(read_file(path), name=str(path))


def read_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit`` bytes, default :data:`MAX_FILE_BYTES`).

    Raises :class:`ImageLoadError` for anything that is not a readable regular file of that size.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    check_regular_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        with os.fdopen(os.open(path, flags), "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):  # swapped for something else since the check
                raise ImageLoadError(f"{path} is {file_kind(info.st_mode)}, not an image file.")
            if info.st_size > limit:
                raise ImageLoadError(too_many_bytes(str(path), info.st_size, limit))
            data = file.read(limit + 1)
    except OSError as error:
        raise ImageLoadError(os_error_message(path, error)) from error
    if len(data) > limit:
        raise ImageLoadError(too_many_bytes(str(path), len(data), limit))
    return data


def check_regular_file(path: Path) -> None:
    """Raise :class:`ImageLoadError` unless ``path`` leads (through any links) to a regular file."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise ImageLoadError(os_error_message(path, error)) from error
    except ValueError as error:  # e.g. an embedded NUL character
        raise ImageLoadError(f"{path!r} is not a valid file name ({error}).") from error
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(
            f"{path} is {file_kind(info.st_mode)}, not a regular file; only image files can be opened."
        )


def file_kind(mode: int) -> str:
    """What a non-regular file of ``st_mode`` ``mode`` is, in words ("a named pipe (FIFO)", …)."""
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((words for test, words in kinds if test(mode)), "a special file")


def os_error_message(path: Path, error: OSError) -> str:
    """The message for ``error`` raised while looking at or opening ``path``."""
    if error.errno == errno.ELOOP:
        return f"{path} is a symbolic link loop (its links lead back to each other, never to a file)."
    if error.errno == errno.ENAMETOOLONG:
        longest = max((len(part) for part in path.parts), default=0)
        return (f"{path} has a name too long for the file system ({longest} characters in one part, "
                f"{len(str(path))} in all). Rename or move the file.")
    if error.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"{path} is a broken link: it points to {os.readlink(path)}, which does not exist."
        return f"{path} does not exist."
    return f"{path} could not be read: {error.strerror or error}."


def too_many_bytes(name: str, size: int, limit: int) -> str:
    """The message for an encoded image of ``size`` bytes over the ``limit``."""
    return (f"{name} is {byte_size(size)}; the limit is {byte_size(limit)} for an image file. "
            "Use a smaller or more compressed file.")


def byte_size(count: int) -> str:
    """``count`` bytes in words: ``"512 MB"``, ``"3 KB"`` or ``"100 bytes"``."""
    if count >= 2**20:
        return f"{count / 2**20:.0f} MB"
    return f"{count / 2**10:.0f} KB" if count >= 2**10 else f"{count} bytes"


def load_image_bytes(data: bytes, name: str = "the image") -> Image.Image:
    """Decode an image from encoded bytes (PNG, JPEG, …; a paste or a drop), fully, EXIF orientation applied.

    Raises :class:`ImageLoadError` naming ``name`` and the reason for empty, damaged, truncated or
    non-image data, more than :data:`MAX_FILE_BYTES` bytes, more than :data:`MAX_PIXELS` pixels
    (checked before decoding; decompression bombs included), an aspect ratio above
    :data:`MAX_ASPECT_RATIO`, and float images with NaN or infinite pixels (refused, not repaired).
    """
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise ImageLoadError(too_many_bytes(name, len(data), MAX_FILE_BYTES))
    image = open_image(data, name)
    check_size(image.size, name)
    try:
        image.load()
    except Exception as error:  # Pillow's decoders raise many types for malformed data
        raise ImageLoadError(
            f"{name} is damaged or truncated and could not be decoded ({describe(error)})."
        ) from error
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block only loses the orientation; the pixels are fine
        pass
    check_finite(image, name)
    return image


def open_image(data: bytes, name: str) -> Image.Image:
    """Read the header of encoded ``data`` (pixels not decoded yet); Pillow's decompression-bomb
    check, warning included, and every header error become :class:`ImageLoadError`."""
    try:
        with OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        raise ImageLoadError(
            f"{name} is not an image Pillow can read. Use PNG, JPEG, BMP, GIF, TIFF or WebP."
        ) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageLoadError(
            f"{name} claims to be too large to decode safely ({error}); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels. Downscale it first."
        ) from error
    except Exception as error:  # a header cut short, an oversized metadata chunk, …
        raise ImageLoadError(
            f"{name} is damaged or truncated: its header could not be read ({describe(error)})."
        ) from error


def check_size(size: tuple[int, int], name: str) -> None:
    """Raise :class:`ImageLoadError` for an image ``size`` (width, height) with no pixels, more than
    :data:`MAX_PIXELS` pixels or a ratio of its sides above :data:`MAX_ASPECT_RATIO`."""
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"{name} is {width}×{height} = {width * height / 1e6:.0f} megapixels; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels. Downscale it first."
        )
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"{name} has no pixels ({width}×{height}).")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageLoadError(
            f"{name} is {width}×{height}, more elongated than {MAX_ASPECT_RATIO:g}:1, the most a model "
            "input can show. Crop it to a less elongated part first."
        )


def check_finite(image: Image.Image, name: str) -> None:
    """Raise :class:`ImageLoadError` if the float image ``image`` has NaN or infinite pixels."""
    if image.mode != "F":
        return
    bad = int(np.count_nonzero(~np.isfinite(np.asarray(image))))
    if bad:
        raise ImageLoadError(
            f"{name} has {bad} pixel{'s' if bad > 1 else ''} that {'are' if bad > 1 else 'is'} NaN or "
            "infinite; such pixels have no brightness. Replace them with numbers in the file first."
        )


def describe(error: BaseException) -> str:
    """``error`` as ``"Type: message"`` for a message (the type alone when it has no text)."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
"""Pillow modes with more than 8 bits per pixel, rescaled by :func:`to_channels`."""

ALPHA_MODES = ("RGBA", "LA", "RGBa", "La", "PA")
"""Pillow modes with transparency, composited over white by :func:`to_channels`."""


def to_channels(image: Image.Image, channels: int) -> Image.Image:
    """Convert ``image`` of any Pillow mode to 8-bit ``"L"`` (channels=1) or ``"RGB"`` (channels=3).

    Transparent pixels are composited over white; 16/32-bit integer and float images are rescaled from
    their own finite min..max to 0..255 (NaN and -inf pixels become the minimum, +inf the maximum);
    LAB goes through an sRGB colour transform; CMYK, YCbCr, HSV and palette images are converted by
    Pillow's colour rules.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if image.mode in WIDE_MODES:
        image = rescaled_to_8bit(image)
    elif image.mode == "LAB":
        image = lab_to_rgb(image)
    elif image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ALPHA_MODES:
        image = over_white(image)
    return image.convert("L" if channels == 1 else "RGB")


def rescaled_to_8bit(image: Image.Image) -> Image.Image:
    """A single-band integer or float image as mode ``"L"``, its finite min..max stretched to 0..255."""
    values = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", image.size, 0)
    low, high = float(values[finite].min()), float(values[finite].max())
    values = np.where(finite, values, np.where(values > 0, high, low))
    scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
    return Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")


def lab_to_rgb(image: Image.Image) -> Image.Image:
    """A ``"LAB"`` image (CIE L*a*b*, D50) as sRGB ``"RGB"`` (Pillow has no direct conversion)."""
    from PIL import ImageCms  # littlecms, only needed for this rare mode

    lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(image, lab, srgb, outputMode="RGB")
    assert converted is not None  # only None when converting in place
    return converted


def over_white(image: Image.Image) -> Image.Image:
    """An image with transparency (any of :data:`ALPHA_MODES`) composited over white, as ``"RGB"``."""
    if image.mode == "La":  # premultiplied; Pillow converts it only to LA
        image = image.convert("LA")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def fit_shorter_side(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The (width, height) an image of ``size`` is resized to so its shorter side is ``side`` pixels.

    The longer side is capped at ``side`` × :data:`MAX_ASPECT_RATIO` (the shorter one then shrinks
    in proportion, to at least 1 pixel), so an extreme image never makes a huge one.
    """
    width, height = size
    short, long = min(width, height), max(width, height)
    cap = int(side * MAX_ASPECT_RATIO)
    new_short, new_long = side, int(side * long / short)
    if new_long > cap:
        new_short, new_long = max(1, round(cap * short / long)), cap
    return (new_short, new_long) if width <= height else (new_long, new_short)


def resize_shorter_side(image: Image.Image, side: int, fill: int | tuple[int, ...] = 0) -> Image.Image:
    """``image`` resized (bilinear, antialiased) by :func:`fit_shorter_side`; where the cap made the
    shorter side less than ``side``, it is padded to ``side`` on both sides with ``fill``."""
    size = fit_shorter_side(image.size, side)
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    width, height = size
    if min(width, height) >= side:
        return image
    padded = Image.new(image.mode, (max(width, side), max(height, side)), fill)
    padded.paste(image, ((padded.width - width) // 2, (padded.height - height) // 2))
    return padded


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
