"""A run's folder: one checkpoint per epoch (``epoch-001``, …; ``epoch-004-partial`` for an epoch
stopped midway), each a :mod:`~cnnviz.core.model.checkpoint_files` folder whose description holds the
configuration, the history so far and what rebuilds the model; resuming reads the last whole one."""

import re
from pathlib import Path
from typing import Any

import torch

from cnnviz.core.model import checkpoint_files
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.scan import weights_checksum
from cnnviz.core.training.metrics import EpochMetrics

EPOCH_FOLDER = re.compile(r"epoch-(\d{3,})$")


def epoch_folder(out: Path, epoch: int, partial: bool = False) -> Path:
    """Where the checkpoint after ``epoch`` (1-based) goes."""
    return out / (f"epoch-{epoch:03d}" + ("-partial" if partial else ""))


def whole_epochs(out: Path) -> list[tuple[int, Path]]:
    """``(epoch, folder)`` of the checkpoints of whole epochs in ``out``, in epoch order."""
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), path) for path in out.iterdir()
             if (m := EPOCH_FOLDER.match(path.name)) and checkpoint_files.is_checkpoint(path)]
    return sorted(found)


def base_spec(model: LoadedModel) -> dict[str, Any]:
    """What rebuilds ``model``'s architecture: its ``spec`` for :func:`~cnnviz.core.model.models.load`
    (None for a module given as a Python object), ``arch``, ``source``, ``name`` and the SHA-256
    ``checksum`` of its weights before training (:func:`~cnnviz.core.per_dataset.scan.weights_checksum`)."""
    spec: str | None = None
    if model.source == "default":
        spec = "default"
    elif model.source == "zoo":
        spec = model.arch
    elif model.source in ("file", "checkpoint") and model.path is not None:
        spec = str(Path(model.path).resolve())
    return {"spec": spec, "arch": model.arch, "source": model.source, "name": model.name,
            "checksum": weights_checksum(model)}


def optimizer_parts(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as (tensors by ``state.PARAM.KEY``, the JSON-able rest)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                      rest: dict[str, Any]) -> None:
    """Load what :func:`optimizer_parts` gave into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    for index, entries in rest["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


def history_from(meta: dict[str, Any]) -> list[EpochMetrics]:
    """The history recorded in a checkpoint description."""
    return [EpochMetrics(**row) for row in meta.get("history", [])]
