"""Image loading: every Pillow mode, EXIF orientation, and bad files with clear messages."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.data import images
from cnnviz.core.data.images import ImageLoadError, load_image, to_channels


def save(image: Image.Image, path, **kwargs):
    image.save(path, **kwargs)
    return path


def gradient(width=8, height=6):
    return np.arange(width * height, dtype=np.uint8).reshape(height, width) * 5


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "CMYK", "I;16", "I", "F", "1"])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_mode_converts_to_what_the_model_needs(mode, channels):
    image = Image.fromarray(gradient()).convert(mode) if mode not in ("I;16", "I", "F") else None
    if mode == "I;16":
        image = Image.fromarray(gradient().astype(np.uint16) * 257)
        assert image.mode == "I;16"
    elif mode in ("I", "F"):
        image = Image.fromarray(gradient().astype(np.int32 if mode == "I" else np.float32))
        assert image.mode == mode
    converted = to_channels(image, channels)
    assert converted.mode == ("L" if channels == 1 else "RGB")
    assert converted.size == (8, 6)
    pixels = np.asarray(converted.convert("L"), dtype=np.float64)
    if mode != "1":
        # the gradient survives: pixel values increase along each row
        assert np.all(np.diff(pixels[:, :-1], axis=1) >= 0)
        assert pixels.max() > pixels.min()


def test_wide_integer_images_are_rescaled_to_full_range():
    values = np.array([[1000, 2000], [3000, 5000]], dtype=np.uint16)
    converted = to_channels(Image.fromarray(values), 1)
    assert np.asarray(converted).tolist() == [[0, 64], [128, 255]]


def test_transparent_pixels_become_white():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    converted = to_channels(Image.fromarray(rgba, "RGBA"), 3)
    assert converted.getpixel((0, 0)) == (255, 0, 0)
    assert converted.getpixel((1, 1)) == (255, 255, 255)


def test_palette_with_transparency_uses_alpha():
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    converted = to_channels(image, 3)
    assert converted.getpixel((0, 0)) == (255, 255, 255)
    assert converted.getpixel((1, 0)) == (10, 20, 30)


def test_loads_png_and_jpeg(tmp_path):
    png = save(Image.fromarray(gradient()), tmp_path / "a.png")
    loaded = load_image(png)
    assert loaded.size == (8, 6)
    assert np.array_equal(np.asarray(loaded), gradient())
    jpeg = save(Image.new("RGB", (40, 30), (200, 10, 10)), tmp_path / "b.jpg", quality=95)
    assert load_image(jpeg).size == (40, 30)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    path = save(image, tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == (20, 40)
    top = np.asarray(loaded.convert("L"))[:8].mean()
    bottom = np.asarray(loaded.convert("L"))[-8:].mean()
    assert top > 200 and bottom < 50  # the left band is now on top


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_image(tmp_path / "nope.png")


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(path)


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(path)


def test_truncated_file(tmp_path):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(path)


def test_oversized_image_is_refused_before_decoding(tmp_path):
    path = save(Image.new("1", (7100, 7100)), tmp_path / "huge.png")
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_image(path)


def test_load_image_bytes_matches_file(tmp_path):
    path = save(Image.fromarray(gradient()), tmp_path / "a.png")
    from_bytes = images.load_image_bytes(path.read_bytes())
    assert np.array_equal(np.asarray(from_bytes), np.asarray(load_image(path)))


def test_from_array_shapes():
    assert images.from_array(gradient()).mode == "L"
    assert images.from_array(np.zeros((3, 4, 3), np.uint8)).mode == "RGB"
    with pytest.raises(ValueError):
        images.from_array(np.zeros((3, 4), np.float32))


def test_bundled_samples_exist_and_load():
    samples = images.samples()
    kinds = {s.kind for s in samples}
    assert kinds == {"fashion-mnist", "photo"}
    assert sum(s.kind == "photo" for s in samples) >= 2
    for sample in samples:
        assert load_image(sample.path).size[0] > 0
    assert images.default_sample().kind == "fashion-mnist"
