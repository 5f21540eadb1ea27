"""Integrated gradients and SmoothGrad against Captum and direct computations."""

import math

import pytest
import torch
from captum.attr import IntegratedGradients
from gradient_reference import assert_untouched, direct_gradient, raising_copy, random_input, state, untrained_resnet

from cnnviz.core.data.smoothing import gaussian_blur
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.attribution import attribute, parameters
from cnnviz.core.per_image.attribution.integrated import RULES, baseline_of, integrated_raw, path_rule
from cnnviz.core.progress import Cancelled

TARGET = 3
"""A class the boot sample is not (the bundled model calls it class 9), to show any target works."""


@pytest.fixture(scope="module")
def resnet():
    return untrained_resnet()


def _captum(model, x, baseline, target, steps, rule):
    ig = IntegratedGradients(lambda inputs: model.module(inputs))
    return ig.attribute(x, baselines=baseline, target=target, n_steps=steps, method=rule)[0]


def _close(actual, expected, tol=1e-4):
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol * float(expected.abs().max()))


def test_path_rules_are_the_textbook_quadratures():
    alphas, weights = path_rule("trapezoid", 3)
    assert alphas.tolist() == [0, 0.5, 1] and weights.tolist() == [0.25, 0.5, 0.25]
    alphas, weights = path_rule("riemann_trapezoid", 3)
    assert alphas.tolist() == [0, 0.5, 1] and weights.tolist() == pytest.approx([1 / 6, 1 / 3, 1 / 6])
    assert path_rule("riemann_left", 4)[0].tolist() == [0, 0.25, 0.5, 0.75]
    assert path_rule("riemann_right", 4)[0].tolist() == [0.25, 0.5, 0.75, 1]
    assert path_rule("riemann_middle", 4)[0].tolist() == [0.125, 0.375, 0.625, 0.875]
    for rule in RULES:
        alphas, weights = path_rule(rule, 7)
        assert alphas.shape == weights.shape == (7,) and alphas.min() >= 0 and alphas.max() <= 1
        total = 6 / 7 if rule == "riemann_trapezoid" else 1
        assert float(weights.sum()) == pytest.approx(total, abs=1e-12)
    alphas, weights = path_rule("gausslegendre", 4)
    assert float((weights * alphas ** 7).sum()) == pytest.approx(1 / 8, abs=1e-12)


CAPTUM_RULES = [rule for rule in RULES if rule != "trapezoid"]


@pytest.mark.parametrize("rule", CAPTUM_RULES)
def test_equals_captum_on_the_bundled_model(bundled, boot, rule):
    a = attribute(bundled, boot, method="integrated_gradients", target=TARGET, steps=16, rule=rule)
    assert a.target == TARGET and a.raw.shape == boot.shape[1:]
    _close(a.raw, _captum(bundled, boot, baseline_of(bundled, boot, "black"), TARGET, 16, rule))
    _close(a.map, a.raw.sum(0))


def test_equals_captum_on_an_untrained_resnet(resnet):
    x = random_input(resnet, side=32)
    start = baseline_of(resnet, x, "black")
    for rule in CAPTUM_RULES:
        a = attribute(resnet, x, method="integrated_gradients", target=207, steps=4, rule=rule)
        _close(a.raw, _captum(resnet, x, start, 207, 4, rule))


def test_trapezoid_is_the_mean_of_captums_left_and_right_sums(bundled, boot):
    """The n-point trapezoid rule proper is the mean of the (n − 1)-point left and right Riemann sums;
    Captum's riemann_trapezoid is (n − 1)/n of it."""
    start = baseline_of(bundled, boot, "black")
    raw = attribute(bundled, boot, method="integrated_gradients", target=TARGET, steps=16, rule="trapezoid").raw
    captum = attribute(bundled, boot, method="integrated_gradients", target=TARGET, steps=16).raw
    _close(captum, raw * 15 / 16)
    sides = [_captum(bundled, boot, start, TARGET, 15, rule) for rule in ("riemann_left", "riemann_right")]
    _close(raw, (sides[0] + sides[1]) / 2)


def test_completeness_gap_is_small_and_as_defined(bundled, boot):
    a = attribute(bundled, boot, method="integrated_gradients", steps=64)
    start = baseline_of(bundled, boot, "black")
    logits = bundled.logits(torch.cat([boot, start]))[:, a.target].double()
    difference = float(logits[0] - logits[1])
    assert abs(difference) > 1
    # f(x) and f(x') come from the path's batched passes: equal to this pass of two images to float32 rounding
    assert a.completeness_gap == pytest.approx(abs(float(a.raw.double().sum()) - difference) / abs(difference),
                                               rel=1e-4)
    assert a.completeness_gap < 0.05
    coarse = attribute(bundled, boot, method="integrated_gradients", steps=2, rule="riemann_left")
    assert coarse.completeness_gap > a.completeness_gap


def test_a_second_run_passes_only_the_paths_points(bundled, boot):
    """The batch-size probe is paid once per model and input size, and f(x), f(x') of the completeness gap come
    from the path's own passes (the trapezoid rule has both ends)."""
    first = attribute(bundled, boot, method="integrated_gradients", steps=64)
    items = []
    handle = bundled.module.register_forward_pre_hook(lambda _module, args: items.append(len(args[0])))
    try:
        again = attribute(bundled, boot, method="integrated_gradients", steps=64, target=first.target)
    finally:
        handle.remove()
    assert sum(items) == 64
    assert again.completeness_gap == pytest.approx(first.completeness_gap, rel=1e-9)


def test_baseline_values(bundled, boot, resnet):
    x = random_input(resnet, side=16)
    mean, std = resnet.stats("cpu")
    black = baseline_of(resnet, x, "black")
    assert black.shape == x.shape
    torch.testing.assert_close(black * std + mean, torch.zeros_like(x), atol=1e-6, rtol=0)
    assert torch.equal(baseline_of(resnet, x, "mean"), torch.zeros_like(x))
    noise = baseline_of(resnet, x, "noise", seed=4)
    expected = torch.rand(x.shape, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(noise * std + mean, expected, atol=1e-6, rtol=0)
    assert not torch.equal(noise, baseline_of(resnet, x, "noise", seed=5))
    blurred = baseline_of(bundled, boot, "blur")
    assert torch.equal(blurred, gaussian_blur(boot, 2.8))
    assert torch.equal(baseline_of(bundled, boot, "blur", blur_sigma=1.0), gaussian_blur(boot, 1.0))
    assert float(blurred.std()) < float(boot.std())
    with pytest.raises(ValueError, match="baseline must be one of"):
        baseline_of(bundled, boot, "white")


@pytest.mark.parametrize("kind", ["black", "mean", "blur", "noise"])
def test_each_baseline_equals_captum_with_that_baseline(bundled, boot, kind):
    a = attribute(bundled, boot, method="integrated_gradients", target=TARGET, baseline=kind, steps=12,
                  rule="gausslegendre", seed=2)
    start = baseline_of(bundled, boot, kind, seed=2)
    _close(a.raw, _captum(bundled, boot, start, TARGET, 12, "gausslegendre"))
    _close(integrated_raw(bundled, boot, TARGET, start, steps=12, rule="gausslegendre"), a.raw)
    expected = {"baseline": kind, "steps": 12, "rule": "gausslegendre", "reduce": "sum"}
    expected |= {"blur": {"blur_sigma": 2.8}, "noise": {"seed": 2}}.get(kind, {})
    assert a.params == pytest.approx(expected)


def test_parameters_and_bad_values(bundled, boot):
    assert parameters("integrated_gradients") == {
        "baseline": "black", "blur_sigma": None, "seed": 0, "steps": 50, "rule": "riemann_trapezoid",
        "batch_size": None, "reduce": "sum"}
    bad = [({"rule": "simpson"}, "rule must be"), ({"baseline": "white"}, "baseline must be"),
           ({"steps": 0}, "steps must be"), ({"steps": 1}, "at least 2 steps"), ({"reduce": "max"}, "reduce must"),
           ({"batch_size": 0}, "batch_size must"), ({"baseline": "blur", "blur_sigma": -1.0}, "blur_sigma")]
    for params, message in bad:
        with pytest.raises(ValueError, match=message):
            attribute(bundled, boot, method="integrated_gradients", **params)
    with pytest.raises(ValueError, match="target must be"):
        attribute(bundled, boot, method="integrated_gradients", target=10)


def test_progress_per_batch_cancel_and_error_leave_no_hooks(bundled, boot):
    before = state(bundled.module)
    seen = []
    a = attribute(bundled, boot, method="integrated_gradients", steps=16, batch_size=4,
                  progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (16, 16) and len(seen) >= 4 and all(t == 16 for _, t in seen)
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert_untouched(bundled.module, before)
    calls = []
    with pytest.raises(Cancelled):
        attribute(bundled, boot, method="integrated_gradients", steps=16, batch_size=4,
                  progress=lambda done, total: calls.append(done) or False)
    assert len(calls) == 1 and calls[0] <= 4
    assert_untouched(bundled.module, before)
    broken = raising_copy(bundled, fail_at=2)
    with pytest.raises(RuntimeError, match="broken model on call 2"):
        attribute(broken, boot, method="integrated_gradients", steps=16, batch_size=4)
    assert_untouched(broken.module, state(broken.module))
    assert_untouched(bundled.module, before)
    _close(attribute(bundled, boot, method="integrated_gradients", steps=16, batch_size=16).raw, a.raw, tol=1e-6)


def _noise(x, sigma, samples, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((samples, *x.shape[1:]), generator=generator) * sigma * float(x.max() - x.min())


@pytest.mark.parametrize("base", ["gradient", "guided"])
def test_smoothgrad_without_noise_is_the_plain_method(bundled, boot, base):
    smooth = attribute(bundled, boot, method="smoothgrad", base=base, sigma=0.0, samples=5, target=TARGET)
    plain = attribute(bundled, boot, method=base, target=TARGET)
    assert torch.equal(smooth.raw, plain.raw) and torch.equal(smooth.map, plain.map)
    squared = attribute(bundled, boot, method="smoothgrad", base=base, sigma=0.0, squared=True, target=TARGET)
    torch.testing.assert_close(squared.raw, plain.raw ** 2, rtol=1e-6, atol=0)


def test_smoothgrad_of_ig_without_noise_is_ig(bundled, boot):
    smooth = attribute(bundled, boot, method="smoothgrad", base="integrated_gradients", sigma=0.0, steps=20,
                       baseline="mean", rule="riemann_middle")
    plain = attribute(bundled, boot, method="integrated_gradients", steps=20, baseline="mean", rule="riemann_middle")
    _close(smooth.raw, plain.raw, tol=1e-6)
    _close(smooth.map, plain.map, tol=1e-6)
    assert smooth.params["reduce"] == "sum" and smooth.completeness_gap is None


@pytest.mark.parametrize("base", ["gradient", "guided"])
@pytest.mark.parametrize("squared", [False, True])
def test_smoothgrad_equals_a_loop_over_the_seeded_noise(bundled, boot, base, squared):
    a = attribute(bundled, boot, method="smoothgrad", base=base, sigma=0.2, samples=6, seed=3, batch_size=4,
                  squared=squared, target=TARGET)
    rules = (lambda: deconv.relu_rules("guided")) if base == "guided" else (lambda: None)
    grads = [direct_gradient(bundled, boot + eps, TARGET, rules()) for eps in _noise(boot, 0.2, 6, 3)]
    expected = torch.stack([g ** 2 if squared else g for g in grads]).mean(0)
    _close(a.raw, expected, tol=1e-5)
    _close(a.map, expected.abs().amax(0), tol=1e-5)
    assert a.params == {"base": base, "sigma": 0.2, "samples": 6, "squared": squared, "seed": 3,
                        "reduce": "abs_max"}
    assert not torch.equal(a.raw, attribute(bundled, boot, method="smoothgrad", base=base, sigma=0.2, samples=6,
                                            seed=4, squared=squared, target=TARGET).raw)


@pytest.mark.parametrize("squared", [False, True])
def test_smoothgrad_of_ig_equals_captum_ig_over_the_noisy_copies(bundled, boot, squared):
    a = attribute(bundled, boot, method="smoothgrad", base="integrated_gradients", sigma=0.1, samples=3, seed=1,
                  steps=8, rule="gausslegendre", squared=squared, target=TARGET)
    start = baseline_of(bundled, boot, "black")
    raws = [_captum(bundled, boot + eps, start, TARGET, 8, "gausslegendre") for eps in _noise(boot, 0.1, 3, 1)]
    expected = torch.stack([r ** 2 if squared else r for r in raws]).mean(0)
    _close(a.raw, expected, tol=1e-5)
    assert a.params["reduce"] == ("abs_max" if squared else "sum")
    assert a.params["steps"] == 8 and a.params["baseline"] == "black" and a.params["rule"] == "gausslegendre"


def test_smoothgrad_progress_cancel_and_error_leave_no_hooks(bundled, boot):
    before = state(bundled.module)
    seen = []
    attribute(bundled, boot, method="smoothgrad", base="guided", samples=6, batch_size=2,
              progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and len(seen) >= 3
    seen.clear()
    attribute(bundled, boot, method="smoothgrad", base="integrated_gradients", samples=2, steps=6, batch_size=3,
              progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (12, 12) and len(seen) >= 4 and [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert_untouched(bundled.module, before)
    for base in ("guided", "integrated_gradients"):
        with pytest.raises(Cancelled):
            attribute(bundled, boot, method="smoothgrad", base=base, samples=6, steps=6, batch_size=2,
                      progress=lambda done, total: done < 2)
        assert_untouched(bundled.module, before)
    broken = raising_copy(bundled, fail_at=2)
    with pytest.raises(RuntimeError, match="broken model"):
        attribute(broken, boot, method="smoothgrad", base="guided", samples=6, batch_size=2)
    assert_untouched(bundled.module, before)


def test_smoothgrad_parameters_and_bad_values(bundled, boot):
    assert parameters("smoothgrad") == {
        "base": "gradient", "sigma": 0.15, "samples": 25, "squared": False, "seed": 0, "batch_size": None,
        "reduce": None, "steps": 50, "baseline": "black", "rule": "riemann_trapezoid"}
    bad = [({"base": "occlusion"}, "base must be"), ({"sigma": -0.1}, "sigma must"),
           ({"sigma": math.nan}, "sigma must"), ({"samples": 0}, "samples must"), ({"reduce": "max"}, "reduce must"),
           ({"base": "integrated_gradients", "rule": "simpson"}, "rule must")]
    for params, message in bad:
        with pytest.raises(ValueError, match=message):
            attribute(bundled, boot, method="smoothgrad", **params)
