"""Loading a model from a user's file: a ``.py`` with ``build()``, a state_dict of a zoo
architecture (guessed from its keys and shapes) or, only when trusted, a whole pickled module."""

import functools
import hashlib
import importlib.machinery
import importlib.util
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.core.model.loaded_model import (
    MAX_RESIZE,
    LoadedModel,
    checked_side,
    checked_size,
    checked_stats,
    first_conv_channels,
    settle,
    wrap,
)
from cnnviz.core.model.model_file_kinds import model_file_kind
from cnnviz.core.model.user_code import user_code
from cnnviz.core.model.zoo import ZOO, ModelLoadError, untrained_module, zoo_model, zoo_weights

FED_CHANNELS = (1, 3)
"""Input channels the app can feed a model: grey or RGB images."""


class UntrustedFileError(ModelLoadError):
    """The file holds a pickled object whose loading would run code; it needs ``trust=True``."""


class UnknownArchitectureError(ModelLoadError):
    """A state_dict file matches no zoo architecture; load it again with ``arch`` chosen."""


def load_file(path: str | Path, *, arch: str | None = None, trust: bool = False,
              device: str = "cpu") -> LoadedModel:
    """A model from a file, in eval mode.

    - ``.py``: a Python file defining ``build()`` that returns an ``nn.Module``, optionally
      ``CATEGORIES``, ``MEAN``, ``STD``, ``INPUT_SIZE`` (H, W), ``RESIZE`` (shorter side) and
      ``IN_CHANNELS``.
    - ``.pth``/``.pt``: a state_dict for zoo architecture ``arch`` (guessed from the keys and shapes
      when None), loaded with ``weights_only=True`` and strict keys.
    - a whole pickled ``nn.Module``: only with ``trust=True`` (unpickling runs code from the file);
      otherwise :class:`UntrustedFileError`.
    """
    start = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} does not exist or is not a file.")
    if model_file_kind(path) == "source":
        loaded = _load_python(path)
    else:
        loaded = _load_torch_file(path, arch, trust)
    with user_code(f"Moving {path.name} to {device}"):
        loaded.module.to(torch.device(device))
    if loaded.in_channels not in FED_CHANNELS:
        raise ModelLoadError(
            f"{path.name}: the model takes {loaded.in_channels} input channels, but cnnviz can only feed it "
            "grey (1 channel) or RGB (3 channel) images. Set IN_CHANNELS or change the first layer."
        )
    _check_runs(loaded)
    loaded.load_seconds = time.perf_counter() - start
    return loaded


def guess_arch(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The zoo architecture whose parameter names and shapes equal those of ``state_dict``, if any."""
    wanted = {key: tuple(value.shape) for key, value in state_dict.items()}
    return next((name for name in ZOO if _state_shapes(name) == wanted), None)


@functools.cache
def _state_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer names of zoo architecture ``name`` with their shapes (built on the meta
    device, without memory for the weights, where the architecture allows it)."""
    try:
        with torch.device("meta"):
            module = untrained_module(name)
    except NotImplementedError:  # RegNet computes its widths with tensors, which needs real data
        module = untrained_module(name)
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def _run_build(path: Path) -> tuple[nn.Module, Any]:
    """Import ``path`` (its folder on ``sys.path`` meanwhile) and call its ``build()``: (module, code).
    ``sys.path`` is as before afterwards, whatever the file did to it."""
    module_name = f"cnnviz_user_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    loader = importlib.machinery.SourceFileLoader(module_name, str(path))  # any suffix, e.g. UPPER.PY
    spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{path} cannot be imported as a Python file.")
    code = importlib.util.module_from_spec(spec)
    folder = str(path.parent.resolve())
    saved_path = list(sys.path)
    sys.path.insert(0, folder)
    try:
        with user_code(f"Running {path.name}"):
            spec.loader.exec_module(code)
            build = getattr(code, "build", None)
            if not callable(build):
                raise ModelLoadError(f"{path.name} must define a function build() that returns the model.")
            module = build()
            if not isinstance(module, nn.Module):
                raise ModelLoadError(
                    f"build() in {path.name} returned {type(module).__name__}, not an nn.Module.")
            settle(module)
    finally:
        sys.path[:] = saved_path
    return module, code


def _load_python(path: Path) -> LoadedModel:
    module, code = _run_build(path)
    try:
        fields = _file_settings(code, module)
    except ValueError as error:
        raise ModelLoadError(f"{path.name}: {error}.") from error
    return wrap(module, name=path.parent.name if path.stem == "model" else path.stem, source="file",
                path=path, **fields)


def _file_settings(code: Any, module: nn.Module) -> dict[str, Any]:
    """The optional names of a model file, checked, as :func:`wrap` arguments (None = not given);
    a ValueError naming the variable for a bad value."""
    def given(name: str) -> Any:
        return getattr(code, name, None)

    channels = given("IN_CHANNELS")
    channels = (first_conv_channels(module) or 3) if channels is None else checked_side(channels, "IN_CHANNELS")
    if channels not in FED_CHANNELS:
        raise ValueError(f"IN_CHANNELS (or the first convolution's input channels) is {channels}; cnnviz "
                         "feeds 1 (grey) or 3 (RGB) channels")
    categories = given("CATEGORIES")
    if categories is not None and (not isinstance(categories, (list, tuple))
                                   or not all(isinstance(c, str) for c in categories)):
        raise ValueError(f"CATEGORIES must be a list of class names (strings), not {categories!r:.80}")
    mean, std, size, resize = given("MEAN"), given("STD"), given("INPUT_SIZE"), given("RESIZE")
    return {
        "in_channels": channels, "categories": categories,
        "mean": None if mean is None else checked_stats(mean, channels, "MEAN"),
        "std": None if std is None else checked_stats(std, channels, "STD", positive=True),
        "input_size": (224, 224) if size is None else checked_size(size, "INPUT_SIZE"),
        "resize_size": None if resize is None else checked_side(resize, "RESIZE", MAX_RESIZE),
    }


def _load_torch_file(path: Path, arch: str | None, trust: bool) -> LoadedModel:
    content = _torch_content(path, trust)
    if isinstance(content, nn.Module):
        return _pickled_module(content, path, arch)
    state = _state_dict_of(content, path)
    arch = arch or guess_arch(state)
    if arch is None:
        raise UnknownArchitectureError(
            f"{path.name} holds weights only (a state_dict) that match no zoo architecture by name "
            "and shape. Choose the architecture they belong to, or load a .py file with build()."
        )
    return _zoo_with_state(arch, state, path)


def _torch_content(path: Path, trust: bool) -> Any:
    """What torch.save stored in ``path`` (a file :func:`model_file_kind` found to be PyTorch's):
    read with ``weights_only=True``, or unpickled in full when it holds more and ``trust`` is set."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ModelLoadError(f"{path.name} is not a PyTorch weights file that can be read ({error}).") from error
        if not trust:
            raise UntrustedFileError(
                f"{path.name} holds a pickled Python object (a whole model), not just weights. "
                "Unpickling runs code stored in the file: load it only if you trust its source."
            ) from error
    except Exception as error:
        raise ModelLoadError(f"{path.name} is not a PyTorch weights file that can be read ({error}).") from error
    with user_code(f"Unpickling {path.name}"):
        content = torch.load(path, map_location="cpu", weights_only=False)
        if isinstance(content, nn.Module):
            settle(content)
    return content


def _state_dict_of(content: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(content, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(content.get(key), dict):
                content = content[key]
                break
    if not isinstance(content, dict) or not all(isinstance(v, torch.Tensor) for v in content.values()):
        raise ModelLoadError(f"{path.name} holds neither a model nor a state_dict of tensors.")
    odd = [key for key in content if not isinstance(key, str)]
    if odd:
        raise ModelLoadError(f"{path.name} is not a state_dict: its keys must be parameter names (strings), "
                             f"but {len(odd)} are not, e.g. {odd[0]!r:.40}.")
    if content and all(k.startswith("module.") for k in content):
        content = {k[len("module."):]: v for k, v in content.items()}
    _check_finite(content, path)
    return content


def _check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    """A ModelLoadError naming the tensors of ``state`` that hold NaN or infinite values."""
    bad = [key for key, value in state.items()
           if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        shown = ", ".join(bad[:6]) + (f", … ({len(bad)} in all)" if len(bad) > 6 else "")
        raise ModelLoadError(f"{path.name} holds NaN or infinite weights (in {shown}); a model with them "
                             "gives no usable outputs.")


def _zoo_with_state(arch: str, state: dict[str, torch.Tensor], path: Path) -> LoadedModel:
    zoo_weights(arch)  # a ModelLoadError for a name outside the zoo
    module = untrained_module(arch)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        raise ModelLoadError(_mismatch_message(path, arch, missing, unexpected, wrong_shape))
    module.load_state_dict(state, strict=True)
    settle(module)
    return zoo_model(module, arch, name=f"{arch} ({path.name})", source="file", path=path)


def _mismatch_message(path: Path, arch: str, missing: list[str], unexpected: list[str],
                      wrong_shape: list[str]) -> str:
    def listing(title: str, keys: list[str]) -> str:
        shown = ", ".join(keys[:12]) + (f", … ({len(keys)} in all)" if len(keys) > 12 else "")
        return f"\n{title}: {shown}" if keys else ""

    return (f"{path.name} does not fit {arch}:" + listing("missing keys", missing)
            + listing("unexpected keys", unexpected) + listing("keys with other shapes", wrong_shape))


def _pickled_module(module: nn.Module, path: Path, arch: str | None) -> LoadedModel:
    in_channels = first_conv_channels(module) or 3
    categories = list(zoo_weights(arch).meta["categories"]) if arch in ZOO else None
    size = 224 if in_channels == 3 else 28
    return wrap(module, input_size=size, categories=categories, name=path.stem, in_channels=in_channels,
                source="file", path=path, arch=arch)


def _check_runs(loaded: LoadedModel) -> None:
    """Run one forward pass on a zero input to check the model accepts its input and gives class scores
    [1, classes]: a ModelLoadError if not, or if any score is NaN or infinite (the panes would show NaN).
    Fills in ImageNet's class names for 1000 unnamed outputs."""
    shape = "×".join(str(v) for v in (1, loaded.in_channels, *loaded.input_size))
    with user_code(f"The model's forward pass on an input of shape {shape}",
                   hint="Check INPUT_SIZE and the number of input channels."):
        outputs = loaded.logits(loaded.dummy_input())
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"it returned {type(outputs).__name__}, not a tensor")
    if outputs.dim() != 2 or outputs.shape[0] != 1 or outputs.shape[1] < 1:
        got = "×".join(str(v) for v in outputs.shape) or "a single number (0-d)"
        raise ModelLoadError(
            f"The model gives outputs of shape {got} for one image; cnnviz needs class scores of shape "
            "1×classes. End the model with a pooling and flattening layer, or a linear layer."
        )
    finite = torch.isfinite(outputs)
    count = outputs.shape[1]
    if not bool(finite.all()):
        which = "All outputs" if not bool(finite.any()) else f"{count - int(finite.sum())} of the {count} outputs"
        raise ModelLoadError(f"{which} of the model are NaN or infinite on a blank input of shape {shape}; "
                             "check its weights and its normalisation (MEAN, STD).")
    if not loaded.categories and count == 1000:
        loaded.categories = list(zoo_weights("resnet18").meta["categories"])
    if loaded.categories and len(loaded.categories) != count:
        raise ModelLoadError(
            f"The model has {count} outputs but {len(loaded.categories)} class names (CATEGORIES)."
        )
