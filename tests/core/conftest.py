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
    from cnnviz.core import models

    return models.load_default()


@pytest.fixture(scope="module")
def boot(bundled):
    """The bundled ankle-boot sample, preprocessed for the bundled model: [1, 1, 28, 28]."""
    from cnnviz.core import images

    return bundled.preprocess(images.load_image(images.sample("fmnist_ankle_boot").path))
