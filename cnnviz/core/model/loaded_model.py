"""The :class:`LoadedModel` every analysis works on, and :func:`wrap` to make one of any module.

A :class:`LoadedModel` is an ``nn.Module`` plus what is needed to feed it images and name its
outputs (class names, input size, normalisation). Looking at a model never changes it: every
forward pass cnnviz makes runs in eval mode with frozen parameters and restores both afterwards.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnnviz.core.data.images import resize_shorter_side, to_channels
from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.hooks import eval_and_frozen, forward_order

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_INPUT_SIDE = 4096
"""Longest input side in pixels a model may ask for (a dummy input is then at most 4096² pixels)."""
MAX_RESIZE = 2 * MAX_INPUT_SIDE
"""Longest shorter side in pixels an image may be resized to before the centre crop."""


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
        """PIL image (any mode) -> normalised tensor [1, C, H, W] on the model's device, made by
        :meth:`preprocessor` (see :class:`Preprocessor` for the steps)."""
        return self.preprocessor()(image).unsqueeze(0).to(self.device)

    def preprocessor(self) -> "Preprocessor":
        """The model's preprocessing as a small picklable callable, for DataLoader worker processes."""
        return Preprocessor(self.in_channels, self.resize_size, self.input_size, self.mean, self.std,
                            self.mean_colour())

    def mean_colour(self) -> int | tuple[int, ...]:
        """The 8-bit pixel of the normalisation mean (0 after normalising): an int for one channel."""
        colour = tuple(round(min(max(m, 0.0), 1.0) * 255) for m in self.mean)
        return colour[0] if len(colour) == 1 else colour

    def deprocess(self, x: torch.Tensor) -> Image.Image:
        """Normalised tensor [1, C, H, W] or [C, H, W] -> 8-bit PIL image (L or RGB), clamped to [0, 1]."""
        if x.dim() == 4:
            x = one_image(x, "deprocess")[0]
        mean, std = self.stats("cpu")
        pixels = (x.detach().float().cpu() * std[0] + mean[0])
        array = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        if array.shape[2] == 1:
            return Image.fromarray(array[:, :, 0], mode="L")
        return Image.fromarray(np.ascontiguousarray(array[:, :, :3]), mode="RGB")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs [N, classes] of the model for a preprocessed batch ``x`` (no gradient; eval
        mode for the pass, the module's own mode restored after)."""
        with eval_and_frozen(self.module), torch.no_grad():
            return output_logits(self.module(x.to(self.device)))

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities [N, classes] for a preprocessed batch ``x``."""
        return torch.softmax(self.logits(x).float(), dim=1)

    def predict(self, x: torch.Tensor, *, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-``k`` (class index, class name, probability) for one image ``x`` [1, C, H, W], best first."""
        probs = self.probabilities(one_image(x, "predict"))[0]
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


@dataclass(frozen=True)
class Preprocessor:
    """A model's preprocessing, ``preprocessor(image) -> [C, H, W]`` float32 on the CPU.

    The image is converted to ``in_channels`` channels, its shorter side resized to ``resize_size``
    (bilinear, antialiased; the longer side is capped at
    :data:`~cnnviz.core.data.images.MAX_ASPECT_RATIO` times that, a thinner image padded with ``fill``,
    the mean colour), the centre ``input_size`` (H, W) cropped, pixels scaled to [0, 1] and
    normalised with ``mean``/``std``. Plain data, so it pickles into DataLoader workers.
    """

    in_channels: int
    resize_size: int
    input_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fill: int | tuple[int, ...]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        image = resize_shorter_side(to_channels(image, self.in_channels), self.resize_size, self.fill)
        crop_h, crop_w = self.input_size
        top = round((image.height - crop_h) / 2.0)
        left = round((image.width - crop_w) / 2.0)
        image = image.crop((left, top, left + crop_w, top + crop_h))
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        x = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
        mean = torch.tensor(self.mean, dtype=torch.float32).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(-1, 1, 1)
        return (x - mean) / std


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


def settle(module: nn.Module) -> nn.Module:
    """A module the loaders built themselves, put in eval mode with frozen parameters, and returned.

    Only for modules cnnviz loaded (a user's module passed to :func:`wrap` is never changed). Since
    its flags then never change, analyses on several threads cannot leave them changed either.
    """
    module.eval()
    module.requires_grad_(False)
    return module


def default_stats(in_channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Normalisation ``(mean, std)`` assumed when a model comes without one: ImageNet's for 3
    channels, otherwise mean 0 and std 1 per channel (pixels in [0, 1] are used as they are)."""
    if in_channels == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    return (0.0,) * in_channels, (1.0,) * in_channels


def first_conv_channels(module: nn.Module) -> int | None:
    """Input channels of the first ``nn.Conv2d`` in ``module`` (registration order), None if none."""
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            return int(sub.in_channels)
    return None


def default_resize(crop: int) -> int:
    """ImageNet convention: resize the shorter side to crop / 0.875 (256 for 224), small inputs as is."""
    return round(crop / 0.875) if crop >= 64 else crop


def pixel_pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``value`` as (height, width) in pixels: an int is a square."""
    if isinstance(value, int):
        return value, value
    height, width = value
    return int(height), int(width)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def checked_side(value: Any, label: str, limit: int = MAX_INPUT_SIDE) -> int:
    """``value`` as a size in pixels, 1 to ``limit``; a ValueError naming ``label`` otherwise."""
    if not _is_int(value) or not 1 <= value <= limit:
        raise ValueError(f"{label} must be a whole number of pixels from 1 to {limit}, not {value!r}")
    return int(value)


def checked_size(value: Any, label: str) -> tuple[int, int]:
    """``value`` (an int or an (H, W) pair) as (height, width) in pixels, each 1 to
    :data:`MAX_INPUT_SIDE`; a ValueError naming ``label`` otherwise."""
    if _is_int(value):
        side = checked_side(value, label)
        return side, side
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{label} must be a size in pixels or a (height, width) pair, not {value!r}")
    return checked_side(value[0], f"{label} height"), checked_side(value[1], f"{label} width")


def checked_stats(values: Any, channels: int, label: str, *, positive: bool = False) -> tuple[float, ...]:
    """``values`` as ``channels`` finite floats (all > 0 when ``positive``); a ValueError naming ``label``
    otherwise."""
    if isinstance(values, (torch.Tensor, np.ndarray)):
        values = values.tolist()
    if not isinstance(values, (tuple, list)) or not all(
            isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{label} must be a list of {channels} numbers (one per input channel), not {values!r}")
    if len(values) != channels:
        raise ValueError(f"{label} needs {channels} values (one per input channel); got {len(values)}")
    numbers = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in numbers) or (positive and min(numbers) <= 0):
        wanted = "finite numbers above 0" if positive else "finite numbers"
        raise ValueError(f"{label} must hold {wanted}, not {values!r}")
    return numbers


def wrap(module: nn.Module, *, input_size: int | tuple[int, int] = (224, 224),
         mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
         categories: Sequence[str] | None = None, name: str | None = None, in_channels: int | None = None,
         resize_size: int | None = None, source: str = "wrapped", path: Path | None = None,
         arch: str | None = None, pretrained: bool = True) -> LoadedModel:
    """Any ``nn.Module`` as a :class:`LoadedModel`, to script the analyses on it.

    ``input_size`` (H, W) in pixels; ``in_channels`` defaults to the first ``nn.Conv2d``'s (a
    ValueError if there is none); ``mean``/``std`` (per channel, for pixels in [0, 1]) default to
    :func:`default_stats`; ``categories`` to none (outputs are then called ``"class N"``);
    ``resize_size`` (shorter side before the centre crop) to :func:`default_resize`; ``name`` to
    the module's class name. The module is not changed: its mode and device stay as they are.
    """
    channels = in_channels or first_conv_channels(module)
    if channels is None:
        raise ValueError(f"{type(module).__name__} has no nn.Conv2d to read the input channels from; "
                         "pass in_channels=")
    channels = checked_side(channels, "in_channels")
    default_mean, default_std = default_stats(channels)
    mean = checked_stats(default_mean if mean is None else mean, channels, "mean")
    std = checked_stats(default_std if std is None else std, channels, "std", positive=True)
    height, width = checked_size(input_size, "input_size")
    resize = default_resize(min(height, width)) if resize_size is None else resize_size
    return LoadedModel(
        module=module, name=name or type(module).__name__, categories=[str(c) for c in categories or []],
        input_size=(height, width), mean=mean, std=std, in_channels=channels,
        resize_size=checked_side(resize, "resize_size", MAX_RESIZE), source=source,
        pretrained=pretrained, path=path, arch=arch,
    )
