"""torchvision's model zoo: the architectures offered, their cached weights and downloading them.

Pretrained weights live in torch's standard cache folder; :func:`download_weights` fetches a missing
file with its SHA-256 prefix checked, and :func:`load_zoo` gives the model with its ImageNet
preprocessing and class names.
"""

import hashlib
import pickle
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.core.model.loaded_model import LoadedModel, settle, wrap
from cnnviz.core.progress import ProgressFn, Step, run_to_end

ZOO = ("alexnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50",
       "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "densenet121", "inception_v3", "efficientnet_b0",
       "convnext_tiny", "regnet_y_400mf")
"""torchvision architectures offered in the model picker."""
ZOO_TITLES = {"alexnet": "AlexNet", "vgg11": "VGG-11", "vgg16": "VGG-16", "vgg19": "VGG-19",
              "googlenet": "GoogLeNet (Inception v1)", "resnet18": "ResNet-18", "resnet34": "ResNet-34",
              "resnet50": "ResNet-50", "squeezenet1_0": "SqueezeNet 1.0", "squeezenet1_1": "SqueezeNet 1.1",
              "mobilenet_v2": "MobileNetV2", "densenet121": "DenseNet-121", "inception_v3": "Inception v3",
              "efficientnet_b0": "EfficientNet-B0", "convnext_tiny": "ConvNeXt-Tiny",
              "regnet_y_400mf": "RegNetY-400MF"}
"""The name each zoo architecture is known by in its paper."""
ZOO_DOWNLOAD_MB = {"alexnet": 233.1, "vgg11": 506.8, "vgg16": 527.8, "vgg19": 548.1, "googlenet": 49.7,
                   "resnet18": 44.7, "resnet34": 83.3, "resnet50": 97.8, "squeezenet1_0": 4.8, "squeezenet1_1": 4.7,
                   "mobilenet_v2": 13.6, "densenet121": 30.8, "inception_v3": 103.9, "efficientnet_b0": 20.5,
                   "convnext_tiny": 109.1, "regnet_y_400mf": 16.8}
"""Size in MB (10⁶ bytes) of each architecture's pretrained weights file (torchvision's ``_file_size``), kept
here so that the picker can show it without importing torchvision."""

# Keyword arguments that make an untrained zoo model have the same structure as the pretrained one.
_UNTRAINED_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "transform_input": True, "init_weights": True},
    "inception_v3": {"aux_logits": True, "transform_input": True, "init_weights": True},
}
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_CHUNK = 1 << 20


class ModelLoadError(Exception):
    """A model could not be loaded; the message says why and what to do."""


class WeightsDownloadError(ModelLoadError):
    """Pretrained weights could not be downloaded.

    ``url`` is where they come from, ``path`` the file the app looks for and ``folder`` the cache
    folder where a user can put that file by hand.
    """

    def __init__(self, url: str, path: Path, reason: str) -> None:
        self.url, self.path, self.folder, self.reason = url, path, path.parent, reason
        super().__init__(self._text("Otherwise load the model untrained (random weights)."))

    def _text(self, otherwise: str) -> str:
        return (f"Could not download the pretrained weights {self.path.name} ({self.reason}).\n\n"
                f"To use them without internet, download\n{self.url}\non another machine and put the file "
                f"in\n{self.folder}\n{otherwise}")

    def for_command_line(self) -> str:
        """The message with the command line's way out: ``--untrained``."""
        return self._text("Otherwise pass --untrained to load the architecture with random weights.")


def zoo_names() -> list[str]:
    """Names of the torchvision architectures offered (all with ImageNet weights)."""
    return list(ZOO)


def zoo_title(name: str, *, cached: bool = False) -> str:
    """How the picker shows zoo architecture ``name``: its paper's name and its download size, or "cached"
    (``"ResNet-18 · 45 MB download"``, ``"ResNet-18 · cached"``)."""
    title = ZOO_TITLES.get(name, name)
    if cached:
        return f"{title} · cached"
    size = ZOO_DOWNLOAD_MB.get(name)
    return f"{title} · {size:.0f} MB download" if size is not None else title


def zoo_weights(name: str) -> Any:
    """torchvision's default ImageNet weights enum member for architecture ``name``."""
    import torchvision

    if name not in ZOO:
        raise ModelLoadError(f"{name!r} is not in the model zoo; choose one of {', '.join(ZOO)}.")
    return torchvision.models.get_model_weights(name).DEFAULT


def untrained_module(name: str) -> nn.Module:
    """Zoo architecture ``name`` with random weights, structured like the pretrained one (in
    training mode, as torchvision builds it; on the current default device)."""
    import torchvision

    return torchvision.models.get_model(name, weights=None, **_UNTRAINED_KWARGS.get(name, {}))


def zoo_model(module: nn.Module, arch: str, **fields: Any) -> LoadedModel:
    """``module`` of zoo architecture ``arch`` as a :class:`LoadedModel` with that architecture's
    ImageNet preprocessing and class names; ``fields`` go to :func:`~cnnviz.core.model.loaded_model.wrap`."""
    weights = zoo_weights(arch)
    transforms = weights.transforms()
    fields.setdefault("name", arch)
    return wrap(module, input_size=int(transforms.crop_size[0]), mean=transforms.mean, std=transforms.std,
                categories=weights.meta["categories"], in_channels=3,
                resize_size=int(transforms.resize_size[0]), arch=arch, **fields)


def weights_cache_dir() -> Path:
    """torch's standard weight cache folder (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(name: str) -> Path:
    """Where the pretrained weights file of zoo model ``name`` is (or will be) cached."""
    url = zoo_weights(name).url
    return weights_cache_dir() / Path(urllib.parse.urlparse(url).path).name


def is_cached(name: str) -> bool:
    """True if the pretrained weights of zoo model ``name`` are already in the cache."""
    return weights_path(name).is_file()


def download_weights(name: str, *, timeout: float = 30.0) -> Generator[Step, None, Path]:
    """Download the pretrained weights of zoo model ``name`` into the cache, yielding steps (bytes ``done``
    of ``total``).

    Returns the cached file's path. A file already cached is not downloaded again. The download goes
    to a ``.partial`` file that is removed if the download fails or the generator is closed early; the
    SHA-256 prefix in torchvision's file names is checked. ``timeout`` in seconds per network read.
    Raises :class:`WeightsDownloadError`.
    """
    url = zoo_weights(name).url
    path = weights_path(name)
    if path.is_file():
        return path
    partial = path.with_name(path.name + ".partial")
    done = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            received = 0
            yield Step(received, total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                yield Step(received, total)
        expected = _HASH_IN_NAME.search(path.name)
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise WeightsDownloadError(url, path, "the downloaded file is corrupt (checksum mismatch)")
        partial.replace(path)
        done = True
        return path
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", None) or error
        raise WeightsDownloadError(url, path, f"network error: {reason}") from error
    finally:
        if not done:
            partial.unlink(missing_ok=True)


def load_zoo(name: str, *, pretrained: bool = True, progress: ProgressFn | None = None,
             device: str = "cpu") -> LoadedModel:
    """A torchvision model in eval mode with its ImageNet preprocessing and class names.

    ``pretrained=True`` uses the cached weights, downloading them first (``progress(bytes, total)``;
    returning False cancels with :class:`~cnnviz.core.Cancelled`); a failed download raises
    :class:`WeightsDownloadError`. ``pretrained=False`` gives random weights, marked untrained.
    """
    import torchvision

    start = time.perf_counter()
    weights = zoo_weights(name)
    if pretrained:
        run_to_end(download_weights(name), progress)
        try:
            module = torchvision.models.get_model(name, weights=weights)
        except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as error:
            raise ModelLoadError(
                f"The cached weights file {weights_path(name)} could not be loaded ({error}). "
                "Delete it to download it again."
            ) from error
    else:
        module = untrained_module(name)
    settle(module).to(torch.device(device))
    loaded = zoo_model(module, name, source="zoo", pretrained=pretrained,
                       path=weights_path(name) if pretrained else None)
    loaded.load_seconds = time.perf_counter() - start
    return loaded
