"""SmoothGrad (Smilkov et al. 2017): the mean attribution over noisy copies of the input.

Each sample is x + ε_i with ε_i ~ N(0, (σ · (max x − min x))²) per input value, so ``sigma`` is a
share of the input's range; the base method (gradient, guided backpropagation or integrated
gradients) runs on every sample and ``raw`` is the mean of their [C, H, W] attributions, or with
``squared`` the mean of their squares (SmoothGrad²). The noise is one draw
``torch.randn((samples, C, H, W))`` from a CPU generator seeded with ``seed``.
"""

from collections.abc import Generator
from typing import Any

import torch

from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.batching import in_batches
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.attribution.common import class_gradient
from cnnviz.core.per_image.attribution.integrated import (
    BASELINES,
    RULES,
    baseline_of,
    check_batch_size,
    check_choice,
    gradient_cap,
    path_gradient_steps,
    path_rule,
)
from cnnviz.core.per_image.attribution.result import REDUCTIONS, Attribution, finished, reduce_channels
from cnnviz.core.progress import Step

Steps = Generator[Step, None, Attribution]

BASES = ("gradient", "guided", "integrated_gradients")
"""The methods SmoothGrad can average."""


def noise_of(x: torch.Tensor, sigma: float, samples: int, seed: int) -> torch.Tensor:
    """The noise [samples, C, H, W] added to ``x`` [1, C, H, W]: standard normal values from a CPU
    generator seeded with ``seed``, times ``sigma`` · (max x − min x); on ``x``'s device and dtype."""
    spread = sigma * float(x.max() - x.min())
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((samples, *x.shape[1:]), generator=generator, dtype=x.dtype)
    return (noise * spread).to(x.device)


def _checked(base: str, sigma: float, samples: int, squared: bool, reduce: str | None,
             batch_size: int | None) -> str:
    """The effective reduction, after checking the parameters."""
    check_choice("base", base, BASES)
    check_batch_size(batch_size)
    if not sigma >= 0:
        raise ValueError(f"sigma must be at least 0 (a share of the input range), not {sigma}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number of at least 1, not {samples!r}")
    if reduce is None:
        reduce = "sum" if base == "integrated_gradients" and not squared else "abs_max"
    check_choice("reduce", reduce, REDUCTIONS)
    return reduce


def _gradient_samples(model: LoadedModel, noisy: torch.Tensor, target: int, base: str, squared: bool,
                      batch_size: int | None, unhandled: set[str]) -> Generator[Step, None, torch.Tensor]:
    """Σ over the noisy inputs [S, C, H, W] of the base method's gradient (or its square) in batches:
    [C, H, W] float64; the guided rule's unhandled nonlinearities are added to ``unhandled``."""
    total = torch.zeros(noisy.shape[1:], dtype=torch.float64, device=model.device)

    def run(low: int, high: int) -> None:
        rules = deconv.relu_rules("guided") if base == "guided" else None
        gradient, _ = class_gradient(model, noisy[low:high], target, rules=rules)
        unhandled.update(getattr(rules, "unhandled", ()))
        gradient = gradient.double()
        total.add_((gradient * gradient if squared else gradient).sum(0))

    count = len(noisy)
    cap, target_s = gradient_cap(model, noisy[:1], batch_size)
    for done in in_batches(count, batch_size, run, cap=cap, target_s=target_s):
        yield Step(done, count)
    return total


def _integrated_samples(model: LoadedModel, x: torch.Tensor, noisy: torch.Tensor, target: int, squared: bool,
                        batch_size: int | None, ig: dict[str, Any]) -> Generator[Step, None, torch.Tensor]:
    """Σ over the noisy inputs [S, C, H, W] of their integrated gradients (or squares) from the
    baseline of the clean input ``x``: [C, H, W] float64; progress counts path points."""
    alphas, weights = path_rule(ig["rule"], ig["steps"])
    start = baseline_of(model, x, ig["baseline"], seed=ig["seed"])
    plan = gradient_cap(model, x, batch_size)
    total = torch.zeros(x.shape[1:], dtype=torch.float64, device=model.device)
    points = len(alphas)
    for index in range(len(noisy)):
        sample = noisy[index:index + 1]
        gradient = yield from path_gradient_steps(model, sample, start, target, alphas, weights, batch_size=batch_size,
                                                  plan=plan, offset=index * points, overall=len(noisy) * points)
        raw = (sample - start)[0].double() * gradient
        total.add_(raw * raw if squared else raw)
    return total


def smoothgrad_steps(model: LoadedModel, x: torch.Tensor, *, target: int, layer: str | None = None,
                     base: str = "gradient", sigma: float = 0.15, samples: int = 25, squared: bool = False,
                     seed: int = 0, batch_size: int | None = None, reduce: str | None = None, steps: int = 50,
                     baseline: str = "black", rule: str = "riemann_trapezoid") -> Steps:
    """SmoothGrad of ``base`` over ``samples`` noisy copies of ``x`` (noise std ``sigma`` × the
    input's range, see :func:`noise_of`); ``squared`` averages squared attributions. Samples go in
    batches of ``batch_size`` (None: adaptive) for gradient and guided, path points for integrated
    gradients (``steps``, ``baseline`` and ``rule`` as there; the baseline is the clean input's).
    ``reduce`` None: ``abs_max``, or ``sum`` for integrated gradients unless ``squared``. With
    σ = 0 every sample is the input, which is then attributed once (the plain method's result)."""
    x = one_image(x, "SmoothGrad").detach().to(model.device)
    reduce = _checked(base, sigma, samples, squared, reduce, batch_size)
    params: dict[str, Any] = {"base": base, "sigma": sigma, "samples": samples, "squared": squared, "seed": seed,
                              "reduce": reduce}
    noisy = x + noise_of(x, sigma, samples if sigma > 0 else 1, seed)
    unhandled: set[str] = set()
    if base == "integrated_gradients":
        check_choice("baseline", baseline, BASELINES)
        check_choice("rule", rule, RULES)
        params |= {"steps": steps, "baseline": baseline, "rule": rule}
        ig = {"steps": steps, "baseline": baseline, "rule": rule, "seed": seed}
        total = yield from _integrated_samples(model, x, noisy, target, squared, batch_size, ig)
    else:
        total = yield from _gradient_samples(model, noisy, target, base, squared, batch_size, unhandled)
    raw = (total / len(noisy)).float()
    return finished(reduce_channels(raw, reduce), raw, "smoothgrad", target, params=params,
                    unhandled=tuple(sorted(unhandled)))


STEPS = {
    "smoothgrad": smoothgrad_steps,
}
