"""Minimal reader for the Fashion-MNIST dataset in its original gzip'd idx format.

The files are those shipped by Debian's ``dataset-fashion-mnist`` package (Zalando Research, MIT licence):
``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``. Images are 28x28 uint8 grayscale (0 = background,
255 = full intensity); labels are integers 0..9 indexing :data:`CLASSES`.

Pure numpy + gzip; no Qt or torch dependency.
"""

import gzip
import hashlib
import struct
from pathlib import Path
from typing import Literal

import numpy as np

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

IMAGE_SIZE = (28, 28)

Split = Literal["train", "test"]

_PREFIX = {"train": "train", "test": "t10k"}
_IMAGES_MAGIC = 0x00000803  # unsigned byte data, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned byte data, 1 dimension
_EXPECTED_COUNT = {"train": 60_000, "test": 10_000}


def file_names(split: Split) -> tuple[str, str]:
    """Return the (images, labels) file names of ``split`` ("train" or "test")."""
    if split not in _PREFIX:
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; expected 'train' or 'test'")
    prefix = _PREFIX[split]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def _all_files(data_dir: Path) -> list[Path]:
    """The four dataset files in a fixed order: train images, train labels, test images, test labels."""
    return [Path(data_dir) / name for split in ("train", "test") for name in file_names(split)]


def available(data_dir: Path | str = DATA_DIR) -> bool:
    """True if all four Fashion-MNIST files exist in ``data_dir``."""
    return all(path.is_file() for path in _all_files(Path(data_dir)))


def _read_gzip(path: Path) -> bytes:
    """Return the decompressed contents of ``path``, with a clear error if it is missing or not gzip."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST file not found: {path} "
            "(on Debian/Ubuntu install the 'dataset-fashion-mnist' package)")
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a valid gzip file: {exc}") from exc


def _parse_idx(data: bytes, path: Path, magic: int, ndim: int) -> tuple[tuple[int, ...], np.ndarray]:
    """Validate an idx header and return (dimensions, flat uint8 payload)."""
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"{path}: too short for an idx header ({len(data)} bytes)")
    (found_magic,) = struct.unpack(">I", data[:4])
    if found_magic != magic:
        raise ValueError(
            f"{path}: bad idx magic number 0x{found_magic:08x}, expected 0x{magic:08x} "
            "(wrong or corrupt file?)")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    payload = np.frombuffer(data, dtype=np.uint8, offset=header_size)
    expected = int(np.prod(dims))
    if payload.size != expected:
        raise ValueError(
            f"{path}: payload has {payload.size} bytes but header dimensions {dims} need {expected}")
    return dims, payload


def read_images(path: Path | str) -> np.ndarray:
    """Read a gzip'd idx3 image file; return a uint8 array [N, 28, 28] with values 0..255."""
    path = Path(path)
    dims, payload = _parse_idx(_read_gzip(path), path, _IMAGES_MAGIC, 3)
    if tuple(dims[1:]) != IMAGE_SIZE:
        raise ValueError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    return payload.reshape(dims).copy()


def read_labels(path: Path | str) -> np.ndarray:
    """Read a gzip'd idx1 label file; return an int64 array [N] with values 0..9."""
    path = Path(path)
    _, payload = _parse_idx(_read_gzip(path), path, _LABELS_MAGIC, 1)
    if payload.size and int(payload.max()) >= len(CLASSES):
        raise ValueError(f"{path}: label {int(payload.max())} out of range 0..{len(CLASSES) - 1}")
    return payload.astype(np.int64)


def load_split(split: Split, data_dir: Path | str = DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Load one split ("train": 60000 samples, "test": 10000 samples).

    Returns ``(images, labels)``: uint8 [N, 28, 28] in 0..255 and int64 [N] in 0..9.
    Raises FileNotFoundError if a file is missing and ValueError if a file is malformed.
    """
    images_name, labels_name = file_names(split)
    images = read_images(Path(data_dir) / images_name)
    labels = read_labels(Path(data_dir) / labels_name)
    if len(images) != len(labels):
        raise ValueError(
            f"Fashion-MNIST {split} split: {len(images)} images but {len(labels)} labels in {data_dir}")
    if len(images) != _EXPECTED_COUNT[split]:
        raise ValueError(
            f"Fashion-MNIST {split} split: expected {_EXPECTED_COUNT[split]} samples, found {len(images)}")
    return images, labels


def checksum(data_dir: Path | str = DATA_DIR) -> str:
    """Hex sha256 over the raw (compressed) bytes of the four files.

    Order: train images, train labels, test images, test labels.
    """
    digest = hashlib.sha256()
    for path in _all_files(Path(data_dir)):
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
