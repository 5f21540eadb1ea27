"""Checkpoint folders: a trained model's weights as ``safetensors`` and a JSON description, no pickle.

A checkpoint is a folder holding :data:`WEIGHTS` (the module's state dict), :data:`META` (what
rebuilds the model: the base model's spec, the classes, the head, the input preprocessing; plus
whatever the trainer records, such as its configuration and history) and, for resuming, the
optimiser's tensors in :data:`OPTIMIZER`. :func:`write` puts a folder in place atomically: the files
are written into a hidden sibling folder which is then renamed, so a write that fails leaves the
previous checkpoint as it was. :func:`read` gives the description and tensors back;
:func:`~cnnviz.core.model.models.load` turns a checkpoint folder into a model.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.safetensors"
META = "checkpoint.json"
FILES = (WEIGHTS, OPTIMIZER, META)
"""The files of a checkpoint folder."""
FORMAT = "cnnviz-checkpoint/1"
"""The ``format`` entry of :data:`META`."""


class CheckpointError(ValueError):
    """A folder that is not a readable cnnviz checkpoint (the message says what is wrong)."""


def is_checkpoint(path: str | Path) -> bool:
    """True for a folder that holds a checkpoint description (:data:`META`)."""
    return (Path(path) / META).is_file()


def _tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` as contiguous CPU tensors that share no memory (what safetensors stores)."""
    return {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}


def write(folder: str | Path, meta: Mapping[str, Any], weights: Mapping[str, torch.Tensor],
          optimizer: Mapping[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint ``folder`` (replacing one that is there) with ``meta`` (JSON-able), the
    ``weights`` and, when given, the ``optimizer`` tensors; atomic (see the module docstring).
    Returns the folder."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_file(_tensors(weights), str(staging / WEIGHTS))
        if optimizer is not None:
            save_file(_tensors(optimizer), str(staging / OPTIMIZER))
        text = json.dumps({"format": FORMAT, **meta}, indent=1, sort_keys=True)
        (staging / META).write_text(text, encoding="utf-8")
        _put_in_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _put_in_place(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``; an existing ``folder`` is moved aside first and removed after."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except OSError:
        if old is not None:
            os.replace(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The description of checkpoint ``folder``; :class:`CheckpointError` when it is missing or not one."""
    path = Path(folder) / META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{folder} is not a cnnviz checkpoint: it has no {META}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} cannot be read: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} description")
    return meta


def read_tensors(folder: str | Path, name: str = WEIGHTS, device: str = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of file ``name`` of checkpoint ``folder`` on ``device``."""
    path = Path(folder) / name
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {name}")
    try:
        return load_file(str(path), device=device)
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise CheckpointError(f"{path} cannot be read: {error}") from None
