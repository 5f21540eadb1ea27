"""A private copy of a model for a long job that runs beside the per-image work on the same model.

:func:`copy_fits` tells whether a copy leaves enough memory on the model's device; :func:`model_copy`
makes it (the parameters and buffers copied, the class names and preprocessing shared). The copy's
module is a deep copy, so hooks one job registers on it are never seen by another.
"""

import copy
from dataclasses import replace

import psutil
import torch

from cnnviz.core.model.loaded_model import LoadedModel

COPY_SHARE = 0.25
"""Largest share of the device's free memory a copy may take (the rest is left for the jobs' activations)."""


def model_bytes(model: LoadedModel) -> int:
    """Bytes of the model's parameters and buffers."""
    tensors = [*model.module.parameters(), *model.module.buffers()]
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


def free_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` in bytes: the RAM available for a CPU, the free memory of a CUDA device;
    None where it cannot be told (MPS and other devices)."""
    if device.type == "cpu":
        return int(psutil.virtual_memory().available)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return None


def copy_fits(model: LoadedModel, available: int | None = None) -> bool:
    """True when a copy of ``model`` takes at most :data:`COPY_SHARE` of the free memory of its device
    (``available`` bytes, measured when None); a device whose free memory cannot be told gets a copy."""
    free = free_bytes(model.device) if available is None else available
    return free is None or model_bytes(model) <= COPY_SHARE * free


def model_copy(model: LoadedModel) -> LoadedModel:
    """A copy of ``model`` whose module (parameters, buffers, hooks the user's code put on it) is a deep
    copy on the same device; its derived-data cache starts as a shallow copy of the model's."""
    return replace(model, module=copy.deepcopy(model.module), cache=dict(model.cache))
