"""Loading a model from a user's file: a ``.py`` with ``build()``, a state_dict of a zoo
architecture (guessed from its keys and shapes) or, only when trusted, a whole pickled module."""

import hashlib
import importlib.util
import pickle
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.core.loaded_model import LoadedModel, first_conv_channels, pixel_pair, settle, wrap
from cnnviz.core.zoo import ZOO, ModelLoadError, untrained_module, zoo_model, zoo_weights


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
    if path.suffix == ".py":
        loaded = _load_python(path)
    else:
        loaded = _load_torch_file(path, arch, trust)
    loaded.module.to(torch.device(device))
    _check_runs(loaded)
    loaded.load_seconds = time.perf_counter() - start
    return loaded


def guess_arch(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The zoo architecture whose parameter names and shapes equal those of ``state_dict``, if any."""
    wanted = {key: tuple(value.shape) for key, value in state_dict.items()}
    for name in ZOO:
        with torch.device("meta"):
            candidate = untrained_module(name)
        if {k: tuple(v.shape) for k, v in candidate.state_dict().items()} == wanted:
            return name
    return None


def _run_build(path: Path) -> tuple[nn.Module, Any]:
    """Import ``path`` (its folder on ``sys.path`` meanwhile) and call its ``build()``: (module, code)."""
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
    return module, code


def _load_python(path: Path) -> LoadedModel:
    module, code = _run_build(path)
    settle(module)
    in_channels = int(getattr(code, "IN_CHANNELS", 0) or first_conv_channels(module) or 3)
    height, width = pixel_pair(getattr(code, "INPUT_SIZE", (224, 224)))
    try:
        return wrap(module, input_size=(height, width), mean=getattr(code, "MEAN", None),
                    std=getattr(code, "STD", None), categories=getattr(code, "CATEGORIES", None),
                    name=path.parent.name if path.stem == "model" else path.stem, in_channels=in_channels,
                    resize_size=int(getattr(code, "RESIZE", 0) or 0) or None, source="file", path=path)
    except ValueError as error:
        raise ModelLoadError(f"{path.name}: {error}") from error


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
        return _pickled_module(settle(content), path, arch)
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
