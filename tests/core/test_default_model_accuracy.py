"""The bundled default model: metadata consistency and its accuracy on the Fashion-MNIST test split."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnviz.core.data import fashion_mnist
from cnnviz.core.model.bundled_net import build_bundled_net

RESOURCES = Path(__file__).parents[2] / "resources"
WEIGHTS = RESOURCES / "default_model.pth"
METADATA = RESOURCES / "default_model.json"
MAX_WEIGHTS_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def metadata() -> dict:
    with open(METADATA, encoding="utf-8") as stream:
        return json.load(stream)


def test_metadata_classes_and_shapes(metadata: dict) -> None:
    assert metadata["classes"] == list(fashion_mnist.CLASSES)
    assert metadata["architecture"] == "cnnviz.core.model.bundled_net.build_bundled_net"
    assert metadata["input_size"] == [28, 28]
    assert metadata["in_channels"] == 1
    assert len(metadata["mean"]) == 1 and len(metadata["std"]) == 1


def test_weights_file_is_small_and_float32() -> None:
    assert WEIGHTS.stat().st_size <= MAX_WEIGHTS_BYTES
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert all(tensor.dtype == torch.float32 for tensor in state.values())


@pytest.mark.skipif(not fashion_mnist.available(), reason="Fashion-MNIST dataset not installed")
def test_dataset_checksum_matches(metadata: dict) -> None:
    assert metadata["data_sha256"] == fashion_mnist.checksum()


@pytest.mark.skipif(not fashion_mnist.available(), reason="Fashion-MNIST dataset not installed")
def test_test_split_accuracy(metadata: dict) -> None:
    model = build_bundled_net()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    images, labels = fashion_mnist.load_split("test")
    pixels = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    inputs = (pixels - metadata["mean"][0]) / metadata["std"][0]
    correct = 0
    with torch.no_grad():
        for start in range(0, len(inputs), 1000):
            predicted = model(inputs[start:start + 1000]).argmax(1).numpy()
            correct += int((predicted == labels[start:start + 1000]).sum())
    accuracy = correct / len(labels)
    assert accuracy >= 0.90
    assert accuracy == pytest.approx(metadata["test_accuracy"], abs=0.001)
