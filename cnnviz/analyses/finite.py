"""The check that a layer's values on an image are finite: a model whose output is NaN or infinite for an image
would otherwise be drawn as blank or meaningless maps. The message matches the one the batched analyses give for
non-finite class scores (:func:`cnnviz.core.model.batching`), so every pane says the same."""

import numpy as np
import torch

from cnnviz.core.model.loaded_model import LoadedModel


def non_finite_message(model: LoadedModel, layer: str) -> str:
    """What a pane shows when ``layer`` of ``model`` gives NaN or infinite values for the image."""
    return (f"{model.display_name} gives non-finite values (NaN or inf) at {layer} for this image, so its maps "
            "would be meaningless")


def is_finite(*values: torch.Tensor | np.ndarray | float) -> bool:
    """True when every value of every tensor, array or number is finite (neither NaN nor ±inf)."""
    for value in values:
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if not np.isfinite(array).all():
            return False
    return True


def check_finite(model: LoadedModel, layer: str, *values: torch.Tensor | np.ndarray | float) -> None:
    """Raise ValueError (:func:`non_finite_message`) unless every one of ``values`` (of ``layer``) is finite."""
    if not is_finite(*values):
        raise ValueError(non_finite_message(model, layer))
