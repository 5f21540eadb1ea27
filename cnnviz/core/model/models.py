"""Loading models: the bundled default, torchvision's zoo (cached or downloaded) and user files.

Every loader returns a :class:`LoadedModel`: the module in eval mode plus what is needed to feed it
images and name its outputs (class names, input size, normalisation). This module gathers the
public names of :mod:`~cnnviz.core.model.loaded_model`, :mod:`~cnnviz.core.model.zoo` and
:mod:`~cnnviz.core.model.model_files` and holds the bundled model and the one-string :func:`load`.
"""

import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from cnnviz.core.data.resources import resource_path
from cnnviz.core.model import checkpoint_files
from cnnviz.core.model.bundled_net import build_bundled_net
from cnnviz.core.model.heads import replace_head
from cnnviz.core.model.loaded_model import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LoadedModel,
    available_devices,
    class_name,
    default_stats,
    output_logits,
    settle,
    wrap,
)
from cnnviz.core.model.model_files import UnknownArchitectureError, UntrustedFileError, guess_arch, load_file
from cnnviz.core.model.zoo import (
    ZOO,
    ModelLoadError,
    WeightsDownloadError,
    download_weights,
    is_cached,
    load_zoo,
    weights_cache_dir,
    weights_path,
    zoo_names,
    zoo_title,
    zoo_weights,
)
from cnnviz.core.progress import ProgressFn

MAX_CHECKPOINT_DEPTH = 16
"""Most checkpoints followed to the model file a chain of them was trained from."""

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "ZOO", "LoadedModel", "ModelLoadError", "UnknownArchitectureError",
    "UntrustedFileError", "WeightsDownloadError", "available_devices", "checkpoint_folder", "class_name", "code_to_run",
    "default_stats", "download_weights", "guess_arch", "is_cached", "load", "load_checkpoint", "load_default",
    "load_file", "load_zoo", "output_logits", "weights_cache_dir", "weights_path", "wrap", "zoo_names", "zoo_title",
    "zoo_weights",
]


def load_default() -> LoadedModel:
    """The bundled ZFNet-style Fashion-MNIST model: offline, on CPU, in eval mode."""
    start = time.perf_counter()
    meta = json.loads(resource_path("default_model.json").read_text(encoding="utf-8"))
    module = build_bundled_net()
    state = torch.load(resource_path("default_model.pth"), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    settle(module)
    loaded = wrap(module, input_size=tuple(meta["input_size"]), mean=meta["mean"], std=meta["std"],
                  categories=meta["classes"], name=meta["name"], in_channels=int(meta["in_channels"]),
                  resize_size=min(meta["input_size"]), source="default", path=resource_path("default_model.pth"))
    loaded.load_seconds = time.perf_counter() - start
    return loaded


def load(spec: str, *, pretrained: bool = True, progress: ProgressFn | None = None,
         trust: bool = False, device: str = "cpu", arch: str | None = None) -> LoadedModel:
    """Load by a command-line style ``spec``: ``"default"``, a zoo name, a checkpoint folder written by
    training (:func:`load_checkpoint`) or a file path (``arch``: the zoo architecture of a state_dict
    file, None to guess it)."""
    if spec == "default":
        return load_default().to(device)
    if spec in ZOO:
        return load_zoo(spec, pretrained=pretrained, progress=progress, device=device)
    if checkpoint_folder(spec) is not None:
        return load_checkpoint(spec, trust=trust, device=device)
    return load_file(spec, arch=arch, trust=trust, device=device)


def checkpoint_folder(path: str | Path) -> Path | None:
    """The checkpoint folder ``path`` names: the folder itself, or the folder of one of its files
    (``checkpoint.json``, ``model.safetensors``); None when it is not a checkpoint."""
    path = Path(path)
    for folder in (path, path.parent):
        if checkpoint_files.is_checkpoint(folder) and (folder == path or path.name in checkpoint_files.FILES):
            return folder
    return None


def code_to_run(spec: str | Path) -> Path | None:
    """The Python file whose code loading ``spec`` runs: a ``.py`` itself, or the ``.py`` that builds a
    checkpoint's base model (through checkpoints of checkpoints); None when loading runs no code from a
    file or the checkpoint cannot be read (a pickled whole model asks for trust on its own)."""
    path = Path(spec)
    for _ in range(MAX_CHECKPOINT_DEPTH):
        folder = checkpoint_folder(path)
        if folder is None:
            break
        try:
            base = (checkpoint_files.read_meta(folder).get("base") or {}).get("spec")
        except checkpoint_files.CheckpointError:
            return None
        if not base:
            return None
        path = Path(str(base))
    return path.resolve() if path.suffix.lower() == ".py" else None


def load_checkpoint(folder: str | Path, *, trust: bool = False, device: str = "cpu") -> LoadedModel:
    """The model saved in checkpoint ``folder`` (or in the folder of one of its files;
    :mod:`~cnnviz.core.model.checkpoint_files`): its base
    model rebuilt from the spec it records (without pretrained weights: a zoo model downloads
    nothing; a ``.py`` base runs that file's code), its head given the trained classes, and the
    trained weights loaded strictly. Raises :class:`~cnnviz.core.model.checkpoint_files.CheckpointError`
    when the folder cannot be read or its base cannot be rebuilt."""
    start = time.perf_counter()
    folder = checkpoint_folder(folder) or Path(folder)
    meta = checkpoint_files.read_meta(folder)
    base = meta.get("base") or {}
    if not base.get("spec"):
        raise checkpoint_files.CheckpointError(
            f"{folder}: its base model was given as a Python object, not a file or a zoo name, so it cannot be "
            "rebuilt; build the module and load model.safetensors into it (safetensors.torch.load_file)")
    model = load(str(base["spec"]), pretrained=False, trust=trust, arch=base.get("arch"))
    classes = [str(name) for name in meta["classes"]]
    if meta.get("head"):
        replace_head(model.module, str(meta["head"]), len(classes))
    try:
        model.module.load_state_dict(checkpoint_files.read_tensors(folder), strict=True)
    except RuntimeError as error:
        raise checkpoint_files.CheckpointError(f"{folder}: the weights do not fit {base['spec']}: {error}") from None
    settle(model.module)
    loaded = replace(model, name=str(meta.get("name") or Path(folder).name), categories=classes, pretrained=True,
                     source="checkpoint", path=Path(folder).resolve(), cache={})
    loaded.load_seconds = time.perf_counter() - start
    return loaded.to(device)
