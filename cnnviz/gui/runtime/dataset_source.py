"""Opening the dataset a pane asks for (off the GUI thread): an image folder or the installed Fashion-MNIST
test set, and where the last folder chosen is remembered."""

from pathlib import Path

from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset

FASHION_MNIST = "fashion-mnist"
FOLDER = "folder"
FOLDER_KEY = "dataset/folder"
"""Settings key of the last dataset folder chosen (shared by the panes that open datasets)."""


def open_source(kind: str, path: Path | None = None) -> ImageDataset:
    """The dataset of a ``kind`` (:data:`FOLDER` at ``path``, or :data:`FASHION_MNIST`: its test set).
    Raises what :func:`cnnviz.core.data.datasets.open_folder` raises for a bad folder."""
    if kind == FASHION_MNIST:
        return datasets.fashion_mnist("test")
    if path is None:
        raise ValueError("no folder chosen")
    return datasets.open_folder(path)
