"""Attribution by the gradient family and by occlusion, for a class target.

- ``gradient``: the gradient of the target logit with respect to the input (Simonyan et al. 2014);
  the map is the largest absolute value over channels.
- ``gradient_x_input``: the gradient times the input (Shrikumar et al. 2016), summed over channels.
- ``guided`` / ``deconvnet``: the same backward pass with guided backpropagation's (Springenberg et
  al. 2015) or the deconvnet's (Zeiler & Fergus 2014) ReLU rule, largest absolute value over channels.
- ``occlusion``: each pixel's mean drop of the target probability over the occluder positions that
  cover it (Zeiler & Fergus 2014, Fig. 7; Captum's ``Occlusion`` on the softmax output).
"""

from collections.abc import Generator

import numpy as np
import torch

from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import deconv, occlusion
from cnnviz.core.per_image.attribution.common import class_gradient
from cnnviz.core.per_image.attribution.result import Attribution, finished, reduce_channels
from cnnviz.core.progress import Step

Steps = Generator[Step, None, Attribution]
"""What every method's steps function is: a generator of :class:`~cnnviz.core.progress.Step` returning the map."""


def _backward(model: LoadedModel, x: torch.Tensor, target: int, method: str,
              rules: deconv.TorchFunctionMode | None) -> tuple[torch.Tensor, tuple[str, ...]]:
    gradient, _ = class_gradient(model, x, target, rules=rules)
    unhandled = tuple(sorted(getattr(rules, "unhandled", ())))
    return gradient[0], unhandled


def gradient_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
                   reduce: str = "abs_max") -> Steps:
    """Saliency: ``raw`` = d logit[target] / d x [C, H, W]; map by ``reduce``."""
    raw, _ = _backward(model, x, target, "gradient", None)
    yield Step(1, 1)
    return finished(reduce_channels(raw, reduce), raw, "gradient", target, params={"reduce": reduce})


def gradient_x_input_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
                           reduce: str = "sum") -> Steps:
    """``raw`` = x · d logit[target] / d x [C, H, W] (in normalised input space); map by ``reduce``."""
    gradient, _ = _backward(model, x, target, "gradient", None)
    raw = gradient * x[0].to(gradient.device)
    yield Step(1, 1)
    return finished(reduce_channels(raw, reduce), raw, "gradient_x_input", target, params={"reduce": reduce})


def _rule_steps(method: str):
    def steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
              reduce: str = "abs_max") -> Steps:
        raw, unhandled = _backward(model, x, target, method, deconv.relu_rules(method))
        yield Step(1, 1)
        return finished(reduce_channels(raw, reduce), raw, method, target, params={"reduce": reduce},
                        unhandled=unhandled)

    steps.__doc__ = (f"The target logit sent back to the input with the {method} ReLU rule: ``raw`` "
                     "[C, H, W]; map by ``reduce``.")
    return steps


guided_steps = _rule_steps("guided")
deconvnet_steps = _rule_steps("deconvnet")


def coverage_mean(values: np.ndarray, positions: tuple[np.ndarray, np.ndarray], window: int,
                  size: tuple[int, int]) -> np.ndarray:
    """Per pixel of an input of ``size`` (H, W): the mean of ``values`` [nH, nW] over the occluder
    windows (tops ``positions[0]``, lefts ``positions[1]``, side ``window`` px) that cover it; 0
    where none does."""
    total = np.zeros(size, dtype=np.float64)
    count = np.zeros(size, dtype=np.float64)
    tops, lefts = positions
    for i, top in enumerate(tops):
        for j, left in enumerate(lefts):
            total[top:top + window, left:left + window] += values[i, j]
            count[top:top + window, left:left + window] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def occlusion_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
                    window: int | None = None, stride: int | None = None, fill: str = "mean",
                    seed: int = 0) -> Steps:
    """Occlusion sensitivity as a pixel map: ``raw`` [nH, nW] is the drop of the target probability
    at each occluder position; the map averages it over the positions covering each pixel.
    ``window`` and ``stride`` in pixels (None: the occlusion pane's defaults for this input size)."""
    size = tuple(model.input_size)
    window = window or occlusion.default_window(min(size))
    stride = stride or occlusion.default_stride(window)
    result = yield from occlusion.occlusion_steps(model, x, target=target, window=window, stride=stride,
                                                  fill=fill, seed=seed)
    drop = result.baseline_prob - result.prob
    pixels = coverage_mean(drop, result.positions, window, (x.shape[-2], x.shape[-1]))
    params = {"window": window, "stride": stride, "fill": fill, "seed": seed}
    return finished(torch.from_numpy(pixels), torch.from_numpy(drop.astype(np.float32)), "occlusion", target,
                    params=params)


STEPS = {
    "gradient": gradient_steps,
    "guided": guided_steps,
    "deconvnet": deconvnet_steps,
    "gradient_x_input": gradient_x_input_steps,
    "occlusion": occlusion_steps,
}
