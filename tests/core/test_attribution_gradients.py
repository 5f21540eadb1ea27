"""The gradient family and the occlusion map against plain autograd and Captum."""

import pytest
import torch
from captum.attr import Deconvolution, GuidedBackprop, Occlusion
from gradient_reference import assert_untouched, direct_gradient, raising_copy, random_input, state, untrained_resnet
from torch import nn

from cnnviz.core.model import models
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.attribution import attribute
from cnnviz.core.progress import Cancelled

GRADIENT_METHODS = ("gradient", "gradient_x_input", "guided", "deconvnet")


@pytest.fixture(scope="module")
def resnet():
    return untrained_resnet()


@pytest.fixture(scope="module")
def net_and_input(bundled, boot, resnet):
    """Function giving (model, input) for "bundled" (the boot sample) or "resnet" (random 32 px pixels)."""
    return lambda name: (bundled, boot) if name == "bundled" else (resnet, random_input(resnet, side=32))


def _close(actual, expected, tol=1e-5):
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol * float(expected.abs().max()))


@pytest.mark.parametrize(("net", "target"), [("bundled", 9), ("bundled", 0), ("bundled", 4), ("resnet", 207)])
def test_gradient_and_gradient_x_input_are_autograd_of_the_logit(net_and_input, net, target):
    model, x = net_and_input(net)
    expected = direct_gradient(model, x, target)
    a = attribute(model, x, method="gradient", target=target)
    assert a.target == target and a.method == "gradient" and a.params == {"reduce": "abs_max"}
    _close(a.raw, expected)
    _close(a.map, expected.abs().amax(0))
    b = attribute(model, x, method="gradient_x_input", target=target)
    _close(b.raw, x[0] * expected)
    _close(b.map, (x[0] * expected).sum(0))
    assert b.params == {"reduce": "sum"}
    assert torch.equal(attribute(model, x, method="gradient", target=target, reduce="l2").map,
                       a.raw.pow(2).sum(0).sqrt())


def test_no_target_means_the_most_probable_class(bundled, boot):
    a = attribute(bundled, boot, method="gradient")
    assert a.target == int(bundled.logits(boot)[0].argmax()) == 9
    _close(a.raw, direct_gradient(bundled, boot, 9))


@pytest.mark.parametrize("net", ["bundled", "resnet"])
@pytest.mark.parametrize(("method", "reference"), [("guided", GuidedBackprop), ("deconvnet", Deconvolution)])
def test_guided_and_deconvnet_equal_the_relu_rules_and_captum(net_and_input, net, method, reference):
    model, x = net_and_input(net)
    target = 7 if net == "bundled" else 33
    a = attribute(model, x, method=method, target=target)
    _close(a.raw, direct_gradient(model, x, target, deconv.relu_rules(method)))
    _close(a.raw, reference(model.module).attribute(x.clone(), target=target)[0])
    _close(a.map, a.raw.abs().amax(0))
    assert a.unhandled == () and a.params == {"reduce": "abs_max"}
    assert not torch.allclose(a.raw, direct_gradient(model, x, target), atol=1e-6)


def test_guided_names_nonlinearities_without_a_rule(bundled, boot):
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.SiLU(), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 24 * 24, 3)).eval()
    model = models.wrap(net, input_size=28, mean=bundled.mean, std=bundled.std)
    a = attribute(model, boot, method="guided", target=1)
    assert a.unhandled == ("silu",)
    _close(a.raw, direct_gradient(model, boot, 1, deconv.relu_rules("guided")))


@pytest.mark.parametrize(("window", "stride", "target"), [(8, 4, 9), (8, 4, 7), (None, None, 5)])
def test_occlusion_map_equals_captum_on_the_softmax(bundled, boot, window, stride, target):
    """Captum also places a last, cut-off window where the stride does not divide H − window; these
    sizes (and the defaults, 8 and 2 px at 28 px) leave no such remainder."""
    a = attribute(bundled, boot, method="occlusion", target=target, window=window, stride=stride, fill="black")
    window, stride = a.params["window"], a.params["stride"]
    assert (window, stride) == ((8, 4) if stride == 4 else (8, 2))
    mean, std = bundled.stats("cpu")
    black = float(-mean / std)
    occlusion = Occlusion(lambda inputs: torch.softmax(bundled.module(inputs), dim=1))
    reference = occlusion.attribute(boot, sliding_window_shapes=(1, window, window), strides=(1, stride, stride),
                                    baselines=black, target=target)[0, 0]
    _close(a.map, reference, tol=1e-4)
    probability = bundled.probabilities(boot)[0, target]
    occluded = boot.clone()
    occluded[..., 0:window, stride:stride + window] = black
    drop = probability - bundled.probabilities(occluded)[0, target]
    assert a.raw.shape == ((28 - window) // stride + 1,) * 2
    assert float(a.raw[0, 1]) == pytest.approx(float(drop), abs=1e-6)


@pytest.mark.parametrize("method", GRADIENT_METHODS + ("occlusion",))
def test_no_hooks_left_after_a_run_a_cancel_and_an_error(bundled, boot, method):
    before = state(bundled.module)
    params = {"window": 8, "stride": 4} if method == "occlusion" else {}
    seen = []
    attribute(bundled, boot, method=method, target=2, progress=lambda done, total: seen.append((done, total)),
              **params)
    assert seen and seen[-1][0] == seen[-1][1]
    assert_untouched(bundled.module, before)
    with pytest.raises(Cancelled):
        attribute(bundled, boot, method=method, target=2, progress=lambda done, total: False, **params)
    assert_untouched(bundled.module, before)
    broken = raising_copy(bundled, fail_at=6 if method == "occlusion" else 1, grad_only=method != "occlusion")
    with pytest.raises(RuntimeError, match="broken model"):
        attribute(broken, boot, method=method, target=2, **params)
    assert_untouched(broken.module, state(broken.module))
    assert_untouched(bundled.module, before)


def test_bad_targets_and_parameters_are_refused(bundled, boot):
    for target in (-1, 10, 2.0, True):
        with pytest.raises(ValueError, match="target must be"):
            attribute(bundled, boot, method="gradient", target=target)
    with pytest.raises(ValueError, match="has no parameter 'sigma'"):
        attribute(bundled, boot, method="guided", sigma=0.1)
    with pytest.raises(ValueError, match="reduce must be"):
        attribute(bundled, boot, method="gradient", reduce="max")
