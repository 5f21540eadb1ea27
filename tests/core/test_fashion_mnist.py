"""Tests for the Fashion-MNIST idx reader, using small synthetic files (and the real data when installed)."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core.data import fashion_mnist


def _write_idx(path: Path, magic: int, dims: tuple[int, ...], payload: bytes) -> None:
    """Write a gzip'd idx file with the given header and raw payload."""
    header = struct.pack(f">I{len(dims)}I", magic, *dims)
    with gzip.open(path, "wb") as stream:
        stream.write(header + payload)


def test_reads_valid_synthetic_files(tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    _write_idx(tmp_path / "images.gz", 0x803, (2, 28, 28), images.tobytes())
    _write_idx(tmp_path / "labels.gz", 0x801, (2,), bytes([9, 0]))
    np.testing.assert_array_equal(fashion_mnist.read_images(tmp_path / "images.gz"), images)
    labels = fashion_mnist.read_labels(tmp_path / "labels.gz")
    assert labels.dtype == np.int64
    assert labels.tolist() == [9, 0]


def test_bad_magic_number_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    _write_idx(path, 0x801, (1, 28, 28), bytes(28 * 28))
    with pytest.raises(ValueError, match="magic number"):
        fashion_mnist.read_images(path)


def test_truncated_payload_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    _write_idx(path, 0x801, (5,), bytes(3))
    with pytest.raises(ValueError, match="payload has 3 bytes"):
        fashion_mnist.read_labels(path)


def test_out_of_range_label_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    _write_idx(path, 0x801, (2,), bytes([3, 10]))
    with pytest.raises(ValueError, match="out of range"):
        fashion_mnist.read_labels(path)


def test_non_gzip_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    path.write_bytes(b"not a gzip file at all")
    with pytest.raises(ValueError, match="not a valid gzip"):
        fashion_mnist.read_images(path)


def test_missing_directory(tmp_path: Path) -> None:
    assert not fashion_mnist.available(tmp_path)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist.load_split("test", tmp_path)


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown Fashion-MNIST split"):
        fashion_mnist.load_split("validation")  # type: ignore[arg-type]


def test_classes() -> None:
    assert len(fashion_mnist.CLASSES) == 10
    assert fashion_mnist.CLASSES[0] == "T-shirt/top"
    assert fashion_mnist.CLASSES[9] == "Ankle boot"


@pytest.mark.skipif(not fashion_mnist.available(), reason="Fashion-MNIST dataset not installed")
def test_real_test_split() -> None:
    images, labels = fashion_mnist.load_split("test")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [1000] * 10
    assert len(fashion_mnist.checksum()) == 64
