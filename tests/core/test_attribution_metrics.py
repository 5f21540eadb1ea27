"""Deletion and insertion curves, the model randomisation test and the map similarities."""

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.functional as TF

from cnnviz.core.model import batching, models, zoo
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution import metrics
from cnnviz.core.progress import Cancelled


@pytest.fixture(autouse=True)
def steady_batches(monkeypatch):
    """Batches keep their size on a busy machine (a slow batch would otherwise shrink the next ones)."""
    monkeypatch.setattr(batching, "TARGET_BATCH_S", 60.0)


@pytest.fixture(scope="module")
def boot_cam(bundled, boot):
    return attribution.attribute(bundled, boot, method="gradcam")


def brute_force_curve(model, x, map_, target, steps, start, end):
    """The curve one image at a time: image i takes its first round(i·N/steps) pixels in the map's
    order (value descending, ties by index) from ``end``, the rest from ``start``."""
    values = map_.flatten().tolist()
    pixels = len(values)
    order = sorted(range(pixels), key=lambda p: (-values[p], p))
    channels = x.shape[1]
    fractions, probabilities = [], []
    for i in range(steps + 1):
        changed = torch.tensor(order[:round(i * pixels / steps)], dtype=torch.long)
        image = start.clone().reshape(1, channels, pixels)
        image[..., changed] = end.reshape(1, channels, pixels)[..., changed]
        with torch.no_grad():
            logits = model.module(image.reshape(x.shape))
        probabilities.append(float(torch.softmax(logits, dim=1)[0, target]))
        fractions.append(len(changed) / pixels)
    auc = sum((probabilities[i] + probabilities[i + 1]) / 2 * (fractions[i + 1] - fractions[i]) for i in range(steps))
    return np.array(fractions), np.array(probabilities), auc


def reference_fill(model, x, fill):
    if fill == "black":
        mean, std = model.stats("cpu")
        return ((torch.zeros_like(x) - mean) / std)
    if fill == "mean":
        return torch.zeros_like(x)
    sigma = min(x.shape[-2:]) / 16
    return TF.gaussian_blur(x, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)


def tied_map(cam):
    """A map with many ties (five levels), to check the order's tie rule."""
    return torch.round(cam.map / cam.map.max() * 4)


@pytest.mark.parametrize("fill", ["black", "mean", "blur"])
def test_deletion_equals_a_brute_force_loop(bundled, boot, boot_cam, fill):
    assert not bundled.module.training
    map_ = tied_map(boot_cam)
    curve = metrics.deletion(bundled, boot, map_, target=3, steps=7, fill=fill, batch_size=3)
    fractions, probabilities, auc = brute_force_curve(bundled, boot, map_, 3, 7, boot,
                                                      reference_fill(bundled, boot, fill))
    assert (curve.kind, curve.target) == ("deletion", 3)
    np.testing.assert_array_equal(curve.fractions, fractions)
    np.testing.assert_allclose(curve.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    assert curve.auc == pytest.approx(auc, rel=1e-4, abs=1e-7)
    assert curve.probabilities[0] == pytest.approx(float(bundled.probabilities(boot)[0, 3]), rel=1e-5)


def test_insertion_equals_a_brute_force_loop(bundled, boot, boot_cam):
    curve = metrics.insertion(bundled, boot, boot_cam, steps=9)
    blurred = reference_fill(bundled, boot, "blur")
    fractions, probabilities, auc = brute_force_curve(bundled, boot, boot_cam.map, boot_cam.target, 9, blurred, boot)
    assert (curve.kind, curve.target) == ("insertion", boot_cam.target)
    np.testing.assert_array_equal(curve.fractions, fractions)
    np.testing.assert_allclose(curve.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    assert curve.auc == pytest.approx(auc, rel=1e-4)
    assert curve.probabilities[-1] == pytest.approx(float(bundled.probabilities(boot)[0, boot_cam.target]), rel=1e-5)
    assert curve.probabilities[0] == pytest.approx(float(bundled.probabilities(blurred)[0, boot_cam.target]), rel=1e-5)


def test_fractions_include_both_ends_in_rounded_chunks(bundled, boot, boot_cam):
    curve = metrics.deletion(bundled, boot, boot_cam, steps=100)
    assert curve.fractions.shape == curve.probabilities.shape == (101,)
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1
    np.testing.assert_array_equal(curve.fractions, [round(i * 784 / 100) / 784 for i in range(101)])
    assert 0 < curve.auc < 1
    lines = curve.to_csv().splitlines()
    assert lines[0] == "fraction_changed,target_probability" and len(lines) == 102
    assert lines[-1].startswith("1,")


def test_a_map_and_its_attribution_give_the_same_curve(bundled, boot, boot_cam):
    from_attribution = metrics.insertion(bundled, boot, boot_cam, steps=10)
    from_map = metrics.insertion(bundled, boot, boot_cam.map.numpy(), target=boot_cam.target, steps=10)
    np.testing.assert_array_equal(from_attribution.probabilities, from_map.probabilities)
    assert from_attribution.auc == from_map.auc
    with pytest.raises(ValueError, match="differs from the attribution's target"):
        metrics.deletion(bundled, boot, boot_cam, target=(boot_cam.target + 1) % 10)
    with pytest.raises(ValueError, match="needs a target"):
        metrics.deletion(bundled, boot, boot_cam.map)
    with pytest.raises(ValueError, match="shape"):
        metrics.deletion(bundled, boot, boot_cam.map[:20], target=1)
    with pytest.raises(ValueError, match="steps"):
        metrics.deletion(bundled, boot, boot_cam, steps=0)
    with pytest.raises(ValueError, match="fill"):
        metrics.insertion(bundled, boot, boot_cam, fill="noise")


def test_a_curve_cancels_between_batches(bundled, boot, boot_cam):
    seen = []

    def stop_after_one(done, total):
        seen.append((done, total))
        return False

    with pytest.raises(Cancelled):
        metrics.deletion(bundled, boot, boot_cam, steps=50, batch_size=5, progress=stop_after_one)
    assert seen == [(5, 51)]
    assert hook_count(bundled.module) == 0


def test_gradcam_deletes_faster_than_a_random_map_on_squeezenet(shared_model):
    """The random map is drawn (seeded) at the CAM's resolution and upsampled like it, so both are
    smooth [H, W] maps: isolated pixels in random order fool the network whatever map they come
    from. Half the usual input size keeps the test fast (the net pools adaptively)."""
    import skimage.data
    from PIL import Image

    model = models.load_file(shared_model("squeezenet1_0_imagenet"))
    model = dataclasses.replace(model, input_size=(112, 112), resize_size=128)
    cup = model.preprocess(Image.fromarray(skimage.data.coffee()))
    cam = attribution.attribute(model, cup, method="gradcam")
    assert model.class_name(cam.target) == "espresso"
    noise = torch.rand(1, 1, *cam.raw.shape, generator=torch.Generator().manual_seed(0))
    random_map = F.interpolate(noise, size=cam.map.shape, mode="bilinear", align_corners=False)[0, 0]
    for fill in ("blur", "black"):
        faithful = metrics.deletion(model, cup, cam, steps=10, fill=fill)
        random = metrics.deletion(model, cup, random_map, target=cam.target, steps=10, fill=fill)
        assert faithful.probabilities[0] == random.probabilities[0]
        assert faithful.auc < random.auc / 2, fill


def test_ssim_equals_scikit_image():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.random((28, 37))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    reference = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False)
    assert metrics.ssim(a, b) == pytest.approx(reference, abs=1e-12)
    assert metrics.ssim(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(a[:8], b[:8])


def test_spearman_equals_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a = np.round(rng.random((20, 20)) * 5)
    b = np.round(a + rng.standard_normal(a.shape) * 2)
    assert metrics.spearman(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel()).statistic, abs=1e-12)
    assert metrics.spearman(a, -a) == pytest.approx(-1.0)
    assert metrics.spearman(a, np.zeros_like(a)) == 0.0
    assert metrics.spearman(np.zeros_like(a), np.zeros_like(a)) == 1.0


def reset_by_hand(model, groups, seed):
    """The reference re-initialisation: step i re-seeds the global generator with seed + i and
    calls reset_parameters() on every module of the group that has one."""
    work = copy.deepcopy(model.module)
    for i, group in enumerate(groups, start=1):
        torch.manual_seed(seed + i)
        for name in group:
            for module in work.get_submodule(name).modules():
                if hasattr(module, "reset_parameters") and any(True for _ in module.parameters(recurse=False)):
                    module.reset_parameters()
    return dataclasses.replace(model, module=work, cache={})


def test_randomisation_destroys_the_gradcam_map_of_the_bundled_model(bundled, boot, boot_cam):
    before = {k: v.clone() for k, v in bundled.module.state_dict().items()}
    rng_state = torch.get_rng_state()
    records = metrics.randomisation(bundled, boot, method="gradcam", init_seed=0)
    assert torch.equal(torch.get_rng_state(), rng_state)
    groups = [("classifier.fc2",), ("classifier.fc1",), ("features.conv3",), ("features.conv2",), ("features.conv1",)]
    assert metrics.default_groups(bundled) == groups
    assert [r.layers for r in records] == [sum(groups[:i], ()) for i in range(len(groups) + 1)]
    first, last = records[0], records[-1]
    assert (first.spearman, first.spearman_abs, first.ssim) == (1.0, 1.0, pytest.approx(1.0))
    torch.testing.assert_close(first.map, boot_cam.map)
    reference = attribution.attribute(reset_by_hand(bundled, groups, 0), boot, target=boot_cam.target)
    torch.testing.assert_close(last.map, reference.map)
    assert last.spearman == pytest.approx(metrics.spearman(boot_cam.map, reference.map))
    assert last.spearman < 0.5 and last.ssim < 0.5
    assert not metrics.insensitive(records)
    after = bundled.module.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert hook_count(bundled.module) == 0


def test_randomisation_of_resnet18_blocks_keeps_the_loaded_model(torch_home):
    """Block groups on an untrained ResNet18 (whose Grad-CAM is noise, so no correlation is
    asserted): the steps, the BatchNorm grouping and the untouched weights and running statistics."""
    torch.manual_seed(0)
    net = zoo.zoo_model(torchvision.models.resnet18().eval(), "resnet18", pretrained=False)
    net = dataclasses.replace(net, input_size=(32, 32), resize_size=32)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    assert metrics.default_groups(net)[:2] == [("fc",), ("layer4.1.conv2", "layer4.1.bn2")]
    assert ("layer4.0.downsample.0", "layer4.0.downsample.1") in metrics.default_groups(net)
    groups = ["fc", "layer4", "layer3", ("layer2", "layer1", "conv1", "bn1")]
    records = metrics.randomisation(net, x, method="gradcam", layer="layer2", groups=groups, init_seed=3)
    assert [r.layers for r in records] == [(), ("fc",), ("fc", "layer4"), ("fc", "layer4", "layer3"),
                                           ("fc", "layer4", "layer3", "layer2", "layer1", "conv1", "bn1")]
    expected = [(g,) if isinstance(g, str) else g for g in groups]
    target = attribution.attribute(net, x, layer="layer2").target
    reference = attribution.attribute(reset_by_hand(net, expected, 3), x, layer="layer2", target=target)
    torch.testing.assert_close(records[-1].map, reference.map)
    after = net.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert hook_count(net.module) == 0


def test_randomisation_cancels_and_leaves_no_hooks(bundled, boot):
    before = {k: v.clone() for k, v in bundled.module.state_dict().items()}
    with pytest.raises(Cancelled):
        metrics.randomisation(bundled, boot, method="gradcam", progress=lambda done, total: done < 3)
    assert hook_count(bundled.module) == 0
    assert all(torch.equal(v, bundled.module.state_dict()[k]) for k, v in before.items())
    steps = metrics.randomisation_steps(bundled, boot, method="gradient")
    first = next(steps)
    assert (first.done, first.total, first.partial) == (0, 6, ())
    steps.close()
    assert hook_count(bundled.module) == 0


def test_randomisation_checks_its_arguments(bundled, boot):
    with pytest.raises(ValueError, match="no layer 'nope'"):
        metrics.randomisation(bundled, boot, method="gradcam", groups=["nope"])
    with pytest.raises(ValueError, match="method must be one of"):
        metrics.randomisation(bundled, boot, method="nope")


def test_insensitive_reads_the_last_records_spearman():
    blank = torch.zeros(2, 2)
    original = metrics.RandomisationStep((), 1.0, 1.0, 1.0, blank)
    alike = metrics.RandomisationStep(("fc",), 0.8, 0.9, 0.7, blank)
    changed = metrics.RandomisationStep(("fc", "conv"), 0.1, 0.2, 0.1, blank)
    assert metrics.insensitive([original, alike])
    assert not metrics.insensitive([original, alike, changed])
    assert metrics.insensitive([original, changed], threshold=0.05)
    with pytest.raises(ValueError):
        metrics.insensitive([original])
