"""Integrated gradients (Sundararajan et al. 2017).

The attribution of input value x_i is (x_i − x'_i) ∫₀¹ ∂f(x' + α(x − x')) / ∂x_i dα, where f is
the target logit and x' a baseline image that stands for "no evidence". The integral is a weighted
sum over ``steps`` points α_k of the straight path from the baseline to the input
(:func:`path_rule`), whose gradients are computed in batches. By the completeness axiom the
attributions sum to f(x) − f(x'); how far they miss is reported as ``completeness_gap``.
"""

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import torch

from cnnviz.core.data.inputs import one_image
from cnnviz.core.data.smoothing import gaussian_blur
from cnnviz.core.model.batching import ItemCost, in_batches, known_item_cost
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.attribution.common import batch_plan, class_gradient, logits_of
from cnnviz.core.per_image.attribution.result import REDUCTIONS, Attribution, finished, reduce_channels
from cnnviz.core.progress import Step, run_to_end

Steps = Generator[Step, None, Attribution]

BASELINES = ("black", "mean", "blur", "noise")
"""Baseline images: black pixels, the dataset mean pixel, a blurred copy of the input, uniform noise."""

RULES = ("riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gausslegendre", "trapezoid")
"""Quadrature rules for the path integral (Captum's names)."""

BLUR_SHARE = 0.1
"""Default σ of the ``blur`` baseline as a share of the input's shorter side (2.8 px at 28, 22.4 px at 224)."""

GRADIENT_COST = 3
"""A pass with gradients costs about this many plain forward passes (in time, and in memory for
the activations kept plus their gradients); scales :func:`~cnnviz.core.model.batching.item_cost`."""


def default_blur_sigma(x: torch.Tensor) -> float:
    """σ in pixels of the ``blur`` baseline when none is given: :data:`BLUR_SHARE` of the shorter side of ``x``."""
    return BLUR_SHARE * min(int(x.shape[-2]), int(x.shape[-1]))


def baseline_of(model: LoadedModel, x: torch.Tensor, kind: str, *, seed: int = 0,
                blur_sigma: float | None = None) -> torch.Tensor:
    """The baseline image of ``kind`` for ``x`` [1, C, H, W], in the model's normalised space, same
    shape, dtype and device:

    - ``black``: pixels 0 before normalising, i.e. (0 − mean) / std per channel;
    - ``mean``: the dataset mean pixel, i.e. 0 after normalising;
    - ``blur``: ``x`` blurred with a Gaussian of ``blur_sigma`` px (None: :func:`default_blur_sigma`);
    - ``noise``: pixels uniform in [0, 1), drawn from a CPU generator seeded with ``seed``, normalised.
    """
    mean, std = model.stats(x.device, x.dtype)
    if kind == "black":
        return (-mean / std).expand_as(x).clone()
    if kind == "mean":
        return torch.zeros_like(x)
    if kind == "blur":
        sigma = default_blur_sigma(x) if blur_sigma is None else blur_sigma
        if sigma < 0:
            raise ValueError(f"blur_sigma must be at least 0 px, not {sigma}")
        return gaussian_blur(x, sigma).clone()
    if kind == "noise":
        generator = torch.Generator().manual_seed(seed)
        pixels = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        return (pixels - mean) / std
    raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, not {kind!r}")


def path_rule(rule: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points α_k in [0, 1] and weights w_k of ``rule`` with ``steps`` points, float64 [steps]:

    - ``riemann_left`` / ``riemann_right`` / ``riemann_middle``: α_k = k/n for k = 0..n−1, k = 1..n,
      or (k + ½)/n, each with weight 1/n;
    - ``riemann_trapezoid``: Captum's rule of that name, kept equal to it: α_k = k/(n−1) for
      k = 0..n−1 with weights 1/n, halved at both ends. These sum to (n−1)/n, not 1, so its
      attributions are (n−1)/n of the integral (a completeness gap of about 1/n);
    - ``trapezoid``: the trapezoid rule proper on the same points, weights 1/(n−1) halved at both
      ends (summing to 1);
    - ``gausslegendre``: the n-point Gauss–Legendre nodes and weights moved from [−1, 1] to [0, 1].
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number of at least 1, not {steps!r}")
    n = steps
    if rule == "gausslegendre":
        nodes, spans = np.polynomial.legendre.leggauss(n)
        return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(spans / 2)
    if rule in ("riemann_trapezoid", "trapezoid"):
        if n < 2:
            raise ValueError(f"{rule} needs at least 2 steps")
        weights = torch.full((n,), 1.0 / (n if rule == "riemann_trapezoid" else n - 1), dtype=torch.float64)
        weights[[0, -1]] /= 2
        return torch.linspace(0, 1, n, dtype=torch.float64), weights
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    if rule not in offsets:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    alphas = (torch.arange(n, dtype=torch.float64) + offsets[rule]) / n
    return alphas, torch.full((n,), 1.0 / n, dtype=torch.float64)


def gradient_cap(model: LoadedModel, x: torch.Tensor, batch_size: int | None = None) -> tuple[int, float]:
    """(cap, time target) of :func:`~cnnviz.core.per_image.attribution.common.batch_plan` for inputs like ``x``
    [1, C, H, W] with gradients, counting :data:`GRADIENT_COST` forward passes per item."""
    cost = known_item_cost(model, x)
    return batch_plan(ItemCost(cost.bytes * GRADIENT_COST, cost.seconds * GRADIENT_COST), batch_size)


def path_gradient_steps(model: LoadedModel, x: torch.Tensor, start: torch.Tensor, target: int,
                        alphas: torch.Tensor, weights: torch.Tensor, *, batch_size: int | None = None,
                        plan: tuple[int, float] | None = None, offset: int = 0,
                        overall: int | None = None,
                        ends: dict[float, float] | None = None) -> Generator[Step, None, torch.Tensor]:
    """Σ_k w_k ∂f(start + α_k (x − start)) / ∂x for the target logit f, over the points in batches of
    up to ``batch_size`` (None: adaptive) within ``plan`` (cap, seconds) of :func:`gradient_cap`;
    yields ``(offset + points done, overall)`` after each batch (``overall`` defaults to the number
    of points) and returns the weighted gradient [C, H, W] (float64, on the model's device). ``ends``
    receives f at α = 0 and α = 1 where the path has those points (the passes compute it anyway)."""
    x, start = x.to(model.device), start.to(model.device)
    total = torch.zeros(x.shape[1:], dtype=torch.float64, device=model.device)
    shape = (-1, 1, 1, 1)

    def run(low: int, high: int) -> None:
        alpha = alphas[low:high].to(model.device, x.dtype).view(shape)
        gradient, logits = class_gradient(model, torch.lerp(start, x, alpha), target)  # exactly x at α = 1
        if ends is not None:
            for k, value in zip(alphas[low:high].tolist(), logits.double().tolist()):
                if k in (0.0, 1.0):
                    ends[k] = value
        weight = weights[low:high].to(model.device).view(shape)
        total.add_((weight * gradient.double()).sum(0))

    overall = len(alphas) if overall is None else overall
    cap, target_s = plan if plan is not None else (None, None)
    for done in in_batches(len(alphas), batch_size, run, cap=cap, target_s=target_s):
        yield Step(offset + done, overall)
    return total


def integrated_raw(model: LoadedModel, x: torch.Tensor, target: int, start: torch.Tensor, *, steps: int = 50,
                   rule: str = "riemann_trapezoid", batch_size: int | None = None) -> torch.Tensor:
    """Integrated gradients of the ``target`` logit for one input ``x`` [1, C, H, W] from the baseline
    image ``start`` [1, C, H, W] (e.g. :func:`baseline_of`), without progress: [C, H, W] float32 on
    the model's device."""
    alphas, weights = path_rule(rule, steps)
    walk = path_gradient_steps(model, x, start, target, alphas, weights, batch_size=batch_size)
    gradient = run_to_end(walk)
    return ((x - start)[0].to(gradient.device).double() * gradient).float()


def completeness_gap(model: LoadedModel, x: torch.Tensor, start: torch.Tensor, target: int,
                     raw: torch.Tensor, ends: dict[float, float] | None = None) -> float:
    """|Σ raw − (f(x) − f(start))| / |f(x) − f(start)| for the target logit f (0 is exact; inf when
    the difference is 0 but the attributions are not, 0 when both are). ``ends``: f(start) at key 0.0 and
    f(x) at key 1.0 where already known (the others are computed)."""
    known = dict(ends or {})
    wanted = [alpha for alpha in (1.0, 0.0) if alpha not in known]
    if wanted:
        points = torch.cat([(x if alpha == 1.0 else start).to(x.device) for alpha in wanted])
        known |= dict(zip(wanted, logits_of(model, points)[:, target].double().tolist()))
    difference = known[1.0] - known[0.0]
    missing = abs(float(raw.double().sum()) - difference)
    if difference == 0:
        return 0.0 if missing == 0 else math.inf
    return missing / abs(difference)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """ValueError unless ``value`` is one of ``choices`` (``name`` names the parameter)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def check_batch_size(batch_size: int | None) -> None:
    """ValueError unless ``batch_size`` is None (adaptive) or a whole number of at least 1."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be at least 1 (or None for automatic), not {batch_size!r}")


def integrated_gradients_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
                               baseline: str = "black", blur_sigma: float | None = None, seed: int = 0,
                               steps: int = 50, rule: str = "riemann_trapezoid", batch_size: int | None = None,
                               reduce: str = "sum") -> Steps:
    """Integrated gradients of the target logit from a ``baseline`` (see :func:`baseline_of`;
    ``blur_sigma`` in px for ``blur``, ``seed`` for ``noise``) along ``steps`` points of ``rule``
    (:func:`path_rule`), ``batch_size`` points per pass (None: adaptive). ``raw`` [C, H, W] =
    (x − baseline) × the weighted mean gradient; map by ``reduce`` (signed ``sum`` by default).
    ``params`` holds every parameter that changed the result (``blur_sigma`` only for ``blur``,
    ``seed`` only for ``noise``)."""
    x = one_image(x, "integrated gradients").detach().to(model.device)
    check_choice("reduce", reduce, REDUCTIONS)
    check_batch_size(batch_size)
    alphas, weights = path_rule(rule, steps)
    start = baseline_of(model, x, baseline, seed=seed, blur_sigma=blur_sigma)
    ends: dict[float, float] = {}
    walk = path_gradient_steps(model, x, start, target, alphas, weights, batch_size=batch_size,
                               plan=gradient_cap(model, x, batch_size), ends=ends)
    gradient = yield from walk
    raw = ((x - start)[0].double() * gradient).float()
    params: dict[str, Any] = {"baseline": baseline, "steps": steps, "rule": rule, "reduce": reduce}
    if baseline == "blur":
        params["blur_sigma"] = default_blur_sigma(x) if blur_sigma is None else blur_sigma
    if baseline == "noise":
        params["seed"] = seed
    return finished(reduce_channels(raw, reduce), raw, "integrated_gradients", target, params=params,
                    completeness_gap=completeness_gap(model, x, start, target, raw, ends))


STEPS = {
    "integrated_gradients": integrated_gradients_steps,
}
