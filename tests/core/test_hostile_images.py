"""Hostile and odd image inputs: each is an ImageLoadError naming the file and the reason, or converts."""

import io
import os
import struct
import threading
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms
from torch import nn

from cnnviz.core.data import images
from cnnviz.core.data.images import ImageLoadError, load_image, load_image_bytes, to_channels
from cnnviz.core.model.loaded_model import wrap


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(width: int, height: int, extra: bytes = b"") -> bytes:
    """A grey 8-bit PNG whose header says width×height, ``extra`` chunks before a one-row IDAT."""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
    return b"\x89PNG\r\n\x1a\n" + header + extra + idat + chunk(b"IEND", b"")


def gif_bytes(width: int, height: int) -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b";"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, reason: str) -> str:
    """Load ``path`` as a file and as bytes; both must raise ImageLoadError naming it and ``reason``."""
    with pytest.raises(ImageLoadError, match=reason) as from_file:
        load_image(path)
    assert str(path) in str(from_file.value)
    with pytest.raises(ImageLoadError, match=reason) as from_bytes:
        load_image_bytes(path.read_bytes(), name="pasted image")
    assert "pasted image" in str(from_bytes.value)
    return str(from_file.value)


HOSTILE = {
    "png_30000_squared": (lambda: png_bytes(30000, 30000), "too large to decode safely"),
    "png_100_megapixels": (lambda: png_bytes(10000, 10000), "too large to decode safely"),
    "gif_65535_squared": (lambda: gif_bytes(65535, 65535), "too large to decode safely"),
    "png_60_megapixels": (lambda: png_bytes(6000, 10000), "60 megapixels; the limit is 50"),
    "ztxt_bomb": (lambda: png_bytes(4, 4, chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"a" * 2**23))),
                  "header could not be read .*Decompressed"),
    "iccp_bomb": (lambda: png_bytes(4, 4, chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * 2**23))),
                  "header could not be read .*Decompressed"),
    "jpeg_cut_in_header": (lambda: jpeg_bytes()[:100], "damaged or truncated"),
    "png_cut_in_header": (lambda: png_bytes(4, 4)[:20], "damaged or truncated"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_with_the_reason_and_no_warning(tmp_path, case):
    make, reason = HOSTILE[case]
    path = write(tmp_path, f"{case}.img", make())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not escape either
        refused(path, reason)


def test_decompression_bomb_check_leaves_the_warning_filters_as_they_were(tmp_path):
    before = list(warnings.filters)
    with pytest.raises(ImageLoadError):
        load_image_bytes(png_bytes(10000, 10000))
    assert warnings.filters == before


def test_file_name_too_long(tmp_path):
    path = tmp_path / ("a" * 300 + ".png")
    with pytest.raises(ImageLoadError, match=r"name too long for the file system \(304 characters") as error:
        load_image(path)
    assert str(path) in str(error.value)


def test_invalid_file_name():
    with pytest.raises(ImageLoadError, match="not a valid file name"):
        load_image("bad\0name.png")


def finishes(function, *args, seconds: float = 5.0):
    """Run ``function(*args)`` in a thread; its exception, or a failure if it is still blocked."""
    outcome: list[BaseException | None] = []

    def call():
        try:
            function(*args)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"{function.__name__} blocked for more than {seconds} s"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    link = tmp_path / "link.png"
    link.symlink_to(fifo)
    for path in (fifo, link):
        error = finishes(load_image, path)
        assert isinstance(error, ImageLoadError)
        assert str(path) in str(error) and "named pipe (FIFO), not a regular file" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_endless_device_is_refused():
    error = finishes(load_image, "/dev/zero")
    assert isinstance(error, ImageLoadError) and "character device" in str(error)


def test_file_over_the_byte_limit_is_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "big.png", png_bytes(64, 64) + b"\0" * 3000)
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 2048)
    message = refused(path, "the limit is 2 KB for an image file")
    assert "is 3 KB" in message


def test_read_stops_at_the_limit_when_the_size_lies(tmp_path):
    path = write(tmp_path, "grows.png", b"x" * 5000)
    with pytest.raises(ImageLoadError, match="limit is 4 KB"):
        images.read_file(path, limit=4096)
    assert images.read_file(path, limit=5000) == b"x" * 5000


def test_symlink_loop_is_named_a_link_loop(tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.symlink_to(second)
    second.symlink_to(first)
    with pytest.raises(ImageLoadError, match="symbolic link loop") as error:
        load_image(first)
    assert str(first) in str(error.value)


def test_broken_link_names_its_target(tmp_path):
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "gone.png")
    with pytest.raises(ImageLoadError, match=r"broken link: it points to .*gone\.png, which does not exist"):
        load_image(link)


def test_link_to_an_image_loads(tmp_path):
    target = tmp_path / "real.png"
    Image.new("L", (5, 4), 7).save(target)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    assert np.asarray(load_image(link)).tolist() == [[7] * 5] * 4


@pytest.mark.parametrize("size, accepted", [((1, 20), True), ((20, 1), True), ((1, 21), False), ((300, 7), False)])
def test_extreme_aspect_ratios_are_refused(tmp_path, size, accepted):
    path = tmp_path / "thin.png"
    Image.new("L", size, 100).save(path)
    if accepted:
        assert load_image(path).size == size
    else:
        refused(path, f"{size[0]}×{size[1]}, more elongated than 20:1")


def test_fit_shorter_side_caps_the_longer_side(monkeypatch):
    assert images.fit_shorter_side((640, 480), 256) == (341, 256)  # the usual rule, unchanged
    assert images.fit_shorter_side((1, 20000), 256) == (1, 5120)
    assert images.fit_shorter_side((20000, 1000), 256) == (5120, 256)
    monkeypatch.setattr(images, "MAX_ASPECT_RATIO", 4.0)
    assert images.fit_shorter_side((100, 1000), 10) == (4, 40)


def test_preprocess_of_a_1_by_20000_image_stays_small(monkeypatch):
    model = wrap(nn.Conv2d(1, 2, 3), input_size=(8, 8), resize_size=10, mean=(0.4,), std=(0.2,))
    made: list[tuple[int, int]] = []
    real_new, real_resize = Image.new, Image.Image.resize
    monkeypatch.setattr(Image, "new", lambda mode, size, *a: made.append(size) or real_new(mode, size, *a))
    monkeypatch.setattr(Image.Image, "resize", lambda self, size, *a: made.append(size) or real_resize(self, size, *a))
    column = np.full((20000, 1), 255, dtype=np.uint8)
    x = model.preprocess(Image.fromarray(column))
    assert x.shape == (1, 1, 8, 8)
    assert max(w * h for w, h in made) <= 10 * 200  # never more than side × 20 × side pixels
    row = x[0, 0, 4].numpy()
    mean_level = (round(0.4 * 255) / 255 - 0.4) / 0.2  # the padding is the mean colour: about 0
    assert np.allclose(row[[0, 1, 2, 6, 7]], mean_level, atol=1e-6)
    assert np.isclose(row.max(), (1.0 - 0.4) / 0.2, atol=0.05)  # the image itself, in the middle


def band(values) -> Image.Image:
    return Image.fromarray(np.asarray(values, dtype=np.uint8).reshape(2, 3))


GREY = [0, 50, 100, 150, 200, 255]
ZERO, HALF, FULL = [0] * 6, [128] * 6, [255] * 6
REFERENCE_GREY = {  # mode: bands that show the grey GREY, in the mode's own encoding
    "L": [GREY], "LA": [GREY, FULL], "La": [GREY, FULL], "RGB": [GREY] * 3, "RGBA": [GREY] * 3 + [FULL],
    "RGBa": [GREY] * 3 + [FULL], "RGBX": [GREY] * 3 + [ZERO], "CMYK": [ZERO] * 3 + [[255 - v for v in GREY]],
    "YCbCr": [GREY, HALF, HALF], "HSV": [ZERO, ZERO, GREY], "PA": [GREY, FULL],
}


def grey_in(mode: str) -> Image.Image:
    """The 2×3 grey ramp GREY as an image of ``mode`` (any Pillow mode)."""
    if mode in REFERENCE_GREY:
        bands = [band(v) for v in REFERENCE_GREY[mode]]
        if mode == "PA":
            return Image.merge("PA", [bands[0].convert("P"), bands[1]])
        return Image.merge(mode, bands)
    if mode == "LAB":
        return ImageCms.profileToProfile(band(GREY).convert("RGB"), ImageCms.createProfile("sRGB"),
                                         ImageCms.createProfile("LAB"), outputMode="LAB")
    if mode in ("1", "P"):
        return band(GREY).convert(mode)
    ramp = np.asarray(GREY, dtype=np.float64).reshape(2, 3)
    if mode == "F":
        return Image.fromarray(ramp.astype(np.float32) * 0.01 - 1.0)
    if mode == "I":
        return Image.fromarray(ramp.astype(np.int32) * 1000 - 70000)
    order = ">u2" if mode == "I;16B" else "<u2" if mode == "I;16L" else "=u2"
    return Image.frombytes(mode, (3, 2), (ramp * 257).astype(order).tobytes())


@pytest.mark.parametrize("mode", Image.MODES)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_pillow_mode_converts_with_its_colours(mode, channels):
    image = grey_in(mode)
    assert image.mode == mode
    converted = to_channels(image, channels)
    assert converted.mode == ("L" if channels == 1 else "RGB") and converted.size == (3, 2)
    pixels = np.asarray(converted, dtype=np.int64).reshape(6, -1)
    expected = np.array([0, 0, 0, 255, 255, 255]) if mode == "1" else np.array(GREY)
    tolerance = 6 if mode in ("LAB", "YCbCr", "P", "PA") else 1
    assert np.abs(pixels - expected[:, None]).max() <= tolerance, pixels.ravel().tolist()


def test_lab_colours_come_back_as_srgb():
    rgb = Image.fromarray(np.array([[[255, 0, 0], [0, 128, 255]]], dtype=np.uint8))
    lab = ImageCms.profileToProfile(rgb, ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"),
                                    outputMode="LAB")
    back = np.asarray(to_channels(lab, 3), dtype=np.int64)
    assert np.abs(back - np.asarray(rgb, dtype=np.int64)).max() <= 16  # 8-bit L*a*b* is coarse


def test_non_finite_float_pixels_are_ignored_by_the_conversion():
    values = np.array([[1.0, 2.0, np.nan], [3.0, np.inf, -np.inf]], dtype=np.float32)
    converted = to_channels(Image.fromarray(values), 1)
    assert np.asarray(converted).tolist() == [[0, 128, 0], [255, 255, 0]]
    assert np.asarray(to_channels(Image.fromarray(np.full((2, 2), np.nan, np.float32)), 1)).max() == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_file_with_non_finite_pixels_is_refused(tmp_path, bad):
    values = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    values[1, 2] = bad
    path = tmp_path / "float.tif"
    Image.fromarray(values).save(path)
    refused(path, "has 1 pixel that is NaN or infinite")


def test_load_image_bytes_over_the_byte_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 100)
    with pytest.raises(ImageLoadError, match=r"dropped\.png is 200 bytes; the limit is 100 bytes"):
        load_image_bytes(b"\0" * 200, name="dropped.png")
