"""Loading models: the bundled default, torchvision's zoo (cached or downloaded) and user files.

Every loader returns a :class:`LoadedModel`: the module in eval mode plus what is needed to feed it
images and name its outputs (class names, input size, normalisation).
"""

import hashlib
import importlib.util
import json
import pickle
import re
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnnviz.core.bundled_net import build_bundled_net
from cnnviz.core.hooks import forward_order
from cnnviz.core.images import to_channels
from cnnviz.core.progress import ProgressFn, run_to_end
from cnnviz.core.resources import resource_path

ZOO = ("alexnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50",
       "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "densenet121")
"""torchvision architectures offered in the model picker."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Keyword arguments that make an untrained zoo model have the same structure as the pretrained one.
_UNTRAINED_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "transform_input": True, "init_weights": True},
}
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_CHUNK = 1 << 20


class ModelLoadError(Exception):
    """A model could not be loaded; the message says why and what to do."""


class UntrustedFileError(ModelLoadError):
    """The file holds a pickled object whose loading would run code; it needs ``trust=True``."""


class UnknownArchitectureError(ModelLoadError):
    """A state_dict file matches no zoo architecture; load it again with ``arch`` chosen."""


class WeightsDownloadError(ModelLoadError):
    """Pretrained weights could not be downloaded.

    ``url`` is where they come from, ``path`` the file the app looks for and ``folder`` the cache
    folder where a user can put that file by hand.
    """

    def __init__(self, url: str, path: Path, reason: str) -> None:
        self.url, self.path, self.folder, self.reason = url, path, path.parent, reason
        super().__init__(
            f"Could not download the pretrained weights {path.name} ({reason}).\n\n"
            f"To use them without internet, download\n{url}\non another machine and put the file "
            f"in\n{path.parent}\nOtherwise load the model untrained (random weights)."
        )


@dataclass
class LoadedModel:
    """A model ready for cnnviz: the module plus how to feed it images and name its outputs.

    ``input_size`` is (H, W) in pixels; ``mean``/``std`` are per-channel, for pixels scaled to [0, 1];
    ``resize_size`` is the length of the shorter side an image is resized to before the centre crop
    to ``input_size``. ``pretrained`` is False for a model with random (untrained) weights.
    """

    module: nn.Module
    name: str
    categories: list[str]
    input_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    in_channels: int
    resize_size: int
    source: str = "default"
    pretrained: bool = True
    path: Path | None = None
    arch: str | None = None
    load_seconds: float = 0.0
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    """Derived data that depends only on the architecture (layer order, layer tables)."""

    @property
    def device(self) -> torch.device:
        """The device the module's parameters are on (CPU for a model without parameters)."""
        for parameter in self.module.parameters():
            return parameter.device
        return torch.device("cpu")

    @property
    def display_name(self) -> str:
        """Name for titles and labels, marked ``(untrained)`` where the weights are random."""
        return self.name if self.pretrained else f"{self.name} (untrained)"

    def to(self, device: str | torch.device) -> "LoadedModel":
        """Move the module to ``device`` (``"cpu"``, ``"cuda"``, ``"mps"``) and return self."""
        self.module.to(torch.device(device))
        return self

    def dummy_input(self) -> torch.Tensor:
        """A zero input [1, C, H, W] on the model's device (zero = the dataset mean after normalising)."""
        return torch.zeros(1, self.in_channels, *self.input_size, device=self.device)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """PIL image (any mode) -> normalised tensor [1, C, H, W] on the model's device.

        The shorter side is resized to ``resize_size`` (bilinear, antialiased), the centre
        ``input_size`` is cropped, pixels are scaled to [0, 1] and normalised with ``mean``/``std``.
        """
        image = to_channels(image, self.in_channels)
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.resize_size, int(self.resize_size * long / short)
        size = (new_short, new_long) if width <= height else (new_long, new_short)
        if size != image.size:
            image = image.resize(size, Image.Resampling.BILINEAR)
        crop_h, crop_w = self.input_size
        top = int(round((image.height - crop_h) / 2.0))
        left = int(round((image.width - crop_w) / 2.0))
        image = image.crop((left, top, left + crop_w, top + crop_h))
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        x = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
        mean, std = self.stats("cpu")
        return ((x.unsqueeze(0) - mean) / std).to(self.device)

    def deprocess(self, x: torch.Tensor) -> Image.Image:
        """Normalised tensor [1, C, H, W] or [C, H, W] -> 8-bit PIL image (L or RGB), clamped to [0, 1]."""
        if x.dim() == 4:
            x = x[0]
        mean, std = self.stats("cpu")
        pixels = (x.detach().float().cpu() * std[0] + mean[0])
        array = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        if array.shape[2] == 1:
            return Image.fromarray(array[:, :, 0], mode="L")
        return Image.fromarray(np.ascontiguousarray(array[:, :, :3]), mode="RGB")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs [N, classes] of the model for a preprocessed batch ``x`` (no gradient)."""
        with torch.no_grad():
            return output_logits(self.module(x.to(self.device)))

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities [N, classes] for a preprocessed batch ``x``."""
        return torch.softmax(self.logits(x).float(), dim=1)

    def predict(self, x: torch.Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-``k`` (class index, class name, probability) for the first image of ``x``, best first."""
        probs = self.probabilities(x)[0]
        values, indices = probs.topk(min(k, probs.numel()))
        return [(int(i), self.class_name(int(i)), float(v)) for v, i in zip(values, indices)]

    def class_name(self, index: int) -> str:
        """Name of output ``index`` (``"class N"`` when the model has no names for its outputs)."""
        return class_name(self.categories, index)

    def stats(self, device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalisation ``(mean, std)`` as tensors [1, C, 1, 1] (for pixels in [0, 1]) on
        ``device`` (default: the model's)."""
        where = self.device if device is None else torch.device(device)
        mean = torch.tensor(self.mean, dtype=dtype, device=where).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=dtype, device=where).view(1, -1, 1, 1)
        return mean, std

    def layer_names(self) -> list[str]:
        """Dotted names of the submodules a forward pass calls, in the order it calls them."""
        if "layer_names" not in self.cache:
            self.cache["layer_names"] = forward_order(self.module, self.dummy_input())
        return list(self.cache["layer_names"])


def class_name(names: list[str] | tuple[str, ...], index: int) -> str:
    """``names[index]``, or ``"class N"`` where there is no name for output ``index``: the one place
    cnnviz names a class."""
    return names[index] if 0 <= index < len(names) else f"class {index}"


def output_logits(output: Any) -> torch.Tensor:
    """The class-score tensor of a model output (a tensor, a named tuple with ``logits``, or a tuple)."""
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(f"cannot find class scores in a model output of type {type(output).__name__}")


def available_devices() -> list[str]:
    """Devices torch can run on here: always ``"cpu"``, plus ``"cuda"`` and ``"mps"`` when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def load_default() -> LoadedModel:
    """The bundled ZFNet-style Fashion-MNIST model: offline, on CPU, in eval mode."""
    start = time.perf_counter()
    meta = json.loads(resource_path("default_model.json").read_text(encoding="utf-8"))
    module = build_bundled_net()
    state = torch.load(resource_path("default_model.pth"), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    module.eval()
    height, width = meta["input_size"]
    return LoadedModel(
        module=module, name=meta["name"], categories=list(meta["classes"]),
        input_size=(height, width), mean=tuple(meta["mean"]), std=tuple(meta["std"]),
        in_channels=int(meta["in_channels"]), resize_size=min(height, width), source="default",
        path=resource_path("default_model.pth"), load_seconds=time.perf_counter() - start,
    )


def zoo_names() -> list[str]:
    """Names of the torchvision architectures offered (all with ImageNet weights)."""
    return list(ZOO)


def zoo_weights(name: str) -> Any:
    """torchvision's default ImageNet weights enum member for architecture ``name``."""
    import torchvision

    if name not in ZOO:
        raise ModelLoadError(f"{name!r} is not in the model zoo; choose one of {', '.join(ZOO)}.")
    return torchvision.models.get_model_weights(name).DEFAULT


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


def download_weights(name: str, timeout: float = 30.0) -> Generator[tuple[int, int], None, Path]:
    """Download the pretrained weights of zoo model ``name`` into the cache, yielding (bytes, total).

    Returns the cached file's path. A file already cached is not downloaded again. The download goes
    to a ``.partial`` file that is removed if the download fails or the generator is closed early; the
    SHA-256 prefix in torchvision's file names is checked. Raises :class:`WeightsDownloadError`.
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
            yield received, total
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                yield received, total
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


def load_zoo(name: str, pretrained: bool = True, progress: ProgressFn | None = None,
             device: str = "cpu") -> LoadedModel:
    """A torchvision model with its ImageNet preprocessing and class names.

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
        module = torchvision.models.get_model(name, weights=None, **_UNTRAINED_KWARGS.get(name, {}))
    module.eval().to(torch.device(device))
    transforms = weights.transforms()
    crop = int(transforms.crop_size[0])
    return LoadedModel(
        module=module, name=name, categories=list(weights.meta["categories"]),
        input_size=(crop, crop), mean=tuple(transforms.mean), std=tuple(transforms.std),
        in_channels=3, resize_size=int(transforms.resize_size[0]), source="zoo",
        pretrained=pretrained, path=weights_path(name) if pretrained else None, arch=name,
        load_seconds=time.perf_counter() - start,
    )


def load_file(path: str | Path, arch: str | None = None, trust: bool = False,
              device: str = "cpu") -> LoadedModel:
    """A model from a file.

    - ``.py``: a Python file defining ``build()`` that returns an ``nn.Module``, optionally
      ``CATEGORIES``, ``MEAN``, ``STD``, ``INPUT_SIZE`` (H, W) and ``RESIZE`` (shorter side).
    - ``.pth``/``.pt``: a state_dict for zoo architecture ``arch`` (guessed from the keys and shapes
      when None), loaded with ``weights_only=True`` and strict keys.
    - a whole pickled ``nn.Module``: only with ``trust=True`` (unpickling runs code from the file);
      otherwise :class:`UntrustedFileError`.
    """
    start = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} does not exist or is not a file.")
    if path.suffix == ".py":
        loaded = _load_python(path)
    else:
        loaded = _load_torch_file(path, arch, trust)
    loaded.module.to(torch.device(device))
    _check_runs(loaded)
    loaded.load_seconds = time.perf_counter() - start
    return loaded


def load(spec: str, pretrained: bool = True, progress: ProgressFn | None = None,
         trust: bool = False, device: str = "cpu") -> LoadedModel:
    """Load by a command-line style ``spec``: ``"default"``, a zoo name, or a file path."""
    if spec == "default":
        return load_default().to(device)
    if spec in ZOO:
        return load_zoo(spec, pretrained=pretrained, progress=progress, device=device)
    return load_file(spec, trust=trust, device=device)


def guess_arch(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The zoo architecture whose parameter names and shapes equal those of ``state_dict``, if any."""
    import torchvision

    wanted = {key: tuple(value.shape) for key, value in state_dict.items()}
    for name in ZOO:
        with torch.device("meta"):
            candidate = torchvision.models.get_model(name, weights=None, **_UNTRAINED_KWARGS.get(name, {}))
        if {k: tuple(v.shape) for k, v in candidate.state_dict().items()} == wanted:
            return name
    return None


def _load_python(path: Path) -> LoadedModel:
    module_name = f"cnnviz_user_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{path} cannot be imported as a Python file.")
    code = importlib.util.module_from_spec(spec)
    folder = str(path.parent.resolve())
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(code)
        build = getattr(code, "build", None)
        if not callable(build):
            raise ModelLoadError(f"{path.name} must define a function build() that returns the model.")
        module = build()
    except ModelLoadError:
        raise
    except Exception as error:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        raise ModelLoadError(f"Running {path.name} failed: {detail}") from error
    finally:
        sys.path.remove(folder)
    if not isinstance(module, nn.Module):
        raise ModelLoadError(f"build() in {path.name} returned {type(module).__name__}, not an nn.Module.")
    module.eval()
    in_channels = int(getattr(code, "IN_CHANNELS", 0) or _first_conv_channels(module))
    height, width = _pair(getattr(code, "INPUT_SIZE", (224, 224)))
    default_mean = IMAGENET_MEAN if in_channels == 3 else (0.0,) * in_channels
    default_std = IMAGENET_STD if in_channels == 3 else (1.0,) * in_channels
    mean = tuple(float(v) for v in getattr(code, "MEAN", default_mean))
    std = tuple(float(v) for v in getattr(code, "STD", default_std))
    resize = int(getattr(code, "RESIZE", 0) or _default_resize(min(height, width)))
    categories = [str(c) for c in getattr(code, "CATEGORIES", [])]
    return LoadedModel(
        module=module, name=path.parent.name if path.stem == "model" else path.stem,
        categories=categories, input_size=(height, width), mean=mean, std=std,
        in_channels=in_channels, resize_size=resize, source="file", path=path,
    )


def _load_torch_file(path: Path, arch: str | None, trust: bool) -> LoadedModel:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ModelLoadError(
                f"{path.name} is not a PyTorch weights file that can be read ({error})."
            ) from error
        if not trust:
            raise UntrustedFileError(
                f"{path.name} holds a pickled Python object (a whole model), not just weights. "
                "Unpickling runs code stored in the file: load it only if you trust its source."
            ) from error
        try:
            content = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as inner:
            raise ModelLoadError(f"{path.name} could not be unpickled: {inner}") from inner
    except Exception as error:
        raise ModelLoadError(
            f"{path.name} is not a PyTorch weights file that can be read ({error})."
        ) from error
    if isinstance(content, nn.Module):
        return _wrap_module(content.eval(), path, arch)
    state = _state_dict_of(content, path)
    arch = arch or guess_arch(state)
    if arch is None:
        raise UnknownArchitectureError(
            f"{path.name} holds weights only (a state_dict) that match no zoo architecture by name "
            "and shape. Choose the architecture they belong to, or load a .py file with build()."
        )
    return _zoo_with_state(arch, state, path)


def _state_dict_of(content: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(content, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(content.get(key), dict):
                content = content[key]
                break
    if not isinstance(content, dict) or not all(isinstance(v, torch.Tensor) for v in content.values()):
        raise ModelLoadError(f"{path.name} holds neither a model nor a state_dict of tensors.")
    if content and all(k.startswith("module.") for k in content):
        content = {k[len("module."):]: v for k, v in content.items()}
    return content


def _zoo_with_state(arch: str, state: dict[str, torch.Tensor], path: Path) -> LoadedModel:
    import torchvision

    weights = zoo_weights(arch)
    module = torchvision.models.get_model(arch, weights=None, **_UNTRAINED_KWARGS.get(arch, {}))
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        raise ModelLoadError(_mismatch_message(path, arch, missing, unexpected, wrong_shape))
    module.load_state_dict(state, strict=True)
    module.eval()
    transforms = weights.transforms()
    crop = int(transforms.crop_size[0])
    return LoadedModel(
        module=module, name=f"{arch} ({path.name})", categories=list(weights.meta["categories"]),
        input_size=(crop, crop), mean=tuple(transforms.mean), std=tuple(transforms.std),
        in_channels=3, resize_size=int(transforms.resize_size[0]), source="file", path=path, arch=arch,
    )


def _mismatch_message(path: Path, arch: str, missing: list[str], unexpected: list[str],
                      wrong_shape: list[str]) -> str:
    def listing(title: str, keys: list[str]) -> str:
        shown = ", ".join(keys[:12]) + (f", … ({len(keys)} in all)" if len(keys) > 12 else "")
        return f"\n{title}: {shown}" if keys else ""

    return (f"{path.name} does not fit {arch}:" + listing("missing keys", missing)
            + listing("unexpected keys", unexpected) + listing("keys with other shapes", wrong_shape))


def _wrap_module(module: nn.Module, path: Path, arch: str | None) -> LoadedModel:
    in_channels = _first_conv_channels(module)
    categories: list[str] = []
    if arch in ZOO:
        categories = list(zoo_weights(arch).meta["categories"])
    size = 224 if in_channels == 3 else 28
    mean = IMAGENET_MEAN if in_channels == 3 else (0.0,) * in_channels
    std = IMAGENET_STD if in_channels == 3 else (1.0,) * in_channels
    return LoadedModel(
        module=module, name=path.stem, categories=categories, input_size=(size, size), mean=mean,
        std=std, in_channels=in_channels, resize_size=_default_resize(size), source="file", path=path,
        arch=arch,
    )


def _check_runs(loaded: LoadedModel) -> None:
    """Run one forward pass to check the model accepts its input; fill in ImageNet names if fitting."""
    try:
        outputs = loaded.logits(loaded.dummy_input())
    except Exception as error:
        shape = "×".join(str(v) for v in loaded.dummy_input().shape)
        raise ModelLoadError(
            f"The model failed on an input of shape {shape}: {error}. Check INPUT_SIZE and the "
            "number of input channels."
        ) from error
    count = outputs.shape[1] if outputs.dim() == 2 else 0
    if not loaded.categories and count == 1000:
        loaded.categories = list(zoo_weights("resnet18").meta["categories"])
    if loaded.categories and count and len(loaded.categories) != count:
        raise ModelLoadError(
            f"The model has {count} outputs but {len(loaded.categories)} class names (CATEGORIES)."
        )


def _first_conv_channels(module: nn.Module) -> int:
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            return int(sub.in_channels)
    return 3


def _default_resize(crop: int) -> int:
    """ImageNet convention: resize the shorter side to crop / 0.875 (256 for 224), small inputs as is."""
    return int(round(crop / 0.875)) if crop >= 64 else crop


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    height, width = value
    return int(height), int(width)
