"""Fixtures for the Qt-free core tests."""

from pathlib import Path

import pytest

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache folder for the test (TORCH_HOME), so no real cache is read or written."""
    import torch.hub

    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return home


@pytest.fixture
def no_network(monkeypatch):
    """Make every urllib download fail at once, as on a machine without internet."""
    import urllib.error
    import urllib.request

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def shared_model():
    """Function giving the model.py of a ../shared/models folder; skips the test when it is absent."""

    def find(name: str) -> Path:
        path = SHARED_MODELS / name / "model.py"
        if not path.is_file():
            pytest.skip(f"{path} not available (../shared is only beside developer and CI checkouts)")
        return path

    return find


@pytest.fixture(scope="module")
def bundled():
    """The bundled Fashion-MNIST model (loaded once per test module)."""
    from cnnviz.core.model import models

    return models.load_default()


@pytest.fixture(scope="module")
def boot(bundled):
    """The bundled ankle-boot sample, preprocessed for the bundled model: [1, 1, 28, 28]."""
    from cnnviz.core.data import images

    return bundled.preprocess(images.load_image(images.sample("fmnist_ankle_boot").path))


@pytest.fixture(scope="session")
def fashion_test_split():
    """The Fashion-MNIST test split (images [10000, 28, 28] uint8, labels [10000]); skips when absent."""
    from cnnviz.core.data import fashion_mnist

    if not fashion_mnist.available():
        pytest.skip(f"Fashion-MNIST is not installed in {fashion_mnist.DATA_DIR}")
    return fashion_mnist.load_split("test")


@pytest.fixture(scope="session")
def fashion_tree(tmp_path_factory, fashion_test_split):
    """The first 1 000 test images as PNGs in a class-per-folder tree: (root, original index of each
    file in sorted order)."""
    from scan_reference import SCAN_IMAGES, write_fashion_tree

    root = tmp_path_factory.mktemp("fashion_tree")
    images, labels = fashion_test_split
    return root, write_fashion_tree(root, images, labels, SCAN_IMAGES)


@pytest.fixture(scope="session")
def scan_model():
    """The bundled model for the scan tests (one per session; tests must not change it)."""
    from cnnviz.core.model import models

    return models.load_default()


@pytest.fixture(scope="session")
def fashion_folder(fashion_tree):
    """``datasets.open_folder`` of the 1 000-image tree."""
    from cnnviz.core.data import datasets

    return datasets.open_folder(fashion_tree[0])


@pytest.fixture(scope="session")
def full_index(scan_model, fashion_folder):
    """One uninterrupted scan of the 1 000-image tree on ``SCAN_LAYERS``, k = 9, workers = 0."""
    from scan_reference import SCAN_LAYERS

    from cnnviz.core.per_dataset import scan

    return scan.build(scan_model, fashion_folder, layers=SCAN_LAYERS, k=9, batch_size=64, workers=0)


FEATURE_IMAGES = 1000
"""Fashion-MNIST test images whose features the embedding and retrieval tests share."""
FEATURE_LAYER = "classifier.fc1"
"""The bundled model's first fully connected layer (128 features per image)."""


@pytest.fixture(scope="session")
def fashion_features(scan_model, fashion_test_split):
    """``features.extract`` of the bundled model's :data:`FEATURE_LAYER` on the first 1 000 Fashion-MNIST
    test images (computed once per session; skips when Fashion-MNIST is not installed)."""
    from cnnviz.core.data import datasets
    from cnnviz.core.per_dataset import features

    dataset = datasets.fashion_mnist("test", limit=FEATURE_IMAGES)
    return features.extract(scan_model, dataset, layer=FEATURE_LAYER, batch_size=100, workers=0)


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory):
    """Two 2-epoch runs of the bundled model on Fashion-MNIST (200 train, 60 val, 100 test images), alike
    but for the learning rate (0.01, 0.05): their folders, with the splits recorded."""
    from cnnviz.core import datasets, models, training
    from cnnviz.core.data import fashion_mnist

    if not fashion_mnist.available():
        pytest.skip("Fashion-MNIST is not installed")
    whole = datasets.fashion_mnist("train", limit=260)
    train, val = whole.subset(range(200), "fm train"), whole.subset(range(200, 260), "fm val")
    test = datasets.fashion_mnist("test", limit=100)
    root = tmp_path_factory.mktemp("runs")
    model = models.load_default()
    folders = []
    for lr in (0.01, 0.05):
        config = training.TrainConfig(mode="finetune", epochs=2, lr=lr, workers=0, batch_size=50)
        training.fit(model, train, val=val, test=test, config=config, out=root / f"lr{lr}")
        folders.append(root / f"lr{lr}")
    return folders
