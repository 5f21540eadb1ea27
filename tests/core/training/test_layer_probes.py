"""Layer-wise linear probes: the scores match scikit-learn on features taken independently, and on the
bundled model they rise from the first conv block to the last hidden layer."""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cnnviz.core import models, training
from cnnviz.core.training.layer_probes import default_layers


def independent_features(model, dataset, layer):
    """Channel means of ``layer``'s output for every image, by a plain forward hook."""
    module = dict(model.module.named_modules())[layer]
    kept = []
    handle = module.register_forward_hook(lambda _m, _i, out: kept.append(out.mean(dim=(2, 3)) if out.dim() == 4
                                                                          else out))
    try:
        with torch.no_grad():
            for i in range(len(dataset)):
                model.module(model.preprocess(dataset.image(i)))
    finally:
        handle.remove()
    return torch.cat(kept).numpy()


def test_probe_scores_equal_scikit_learn_and_rise_with_depth(fmnist_small):
    train, _, test = fmnist_small
    model = models.load_default()
    layers = default_layers(model)
    assert layers == ["features.conv1", "features.conv2", "features.conv3", "classifier.fc1"]
    scores = training.probe_layers(model, train, test, workers=0)
    assert list(scores) == layers
    tops = [scores[name].top1 for name in layers]
    assert tops == sorted(tops) and tops[-1] - tops[0] > 0.2
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=0))
    reference.fit(independent_features(model, train, "features.conv2"), train.labels)
    expected = reference.score(independent_features(model, test, "features.conv2"), test.labels)
    assert abs(scores["features.conv2"].top1 - expected) < 0.006  # lbfgs stops within its tolerance
    assert scores["features.conv2"].dims == 64 and scores["classifier.fc1"].top3 >= scores["classifier.fc1"].top1


def test_two_classes_are_probed_too():
    from cnnviz.core.training.layer_probes import score_layer

    rng = np.random.default_rng(0)
    train_x = rng.normal(size=(40, 3)) + np.repeat([[0, 0, 0], [3, 0, 0]], 20, axis=0)
    train_y = np.repeat([0, 1], 20)
    test_x = np.array([[0.0, 0, 0], [3.0, 0, 0], [-1.0, 0, 0]])
    score = score_layer(train_x, train_y, test_x, np.array([0, 1, 0]))
    assert score.top1 == 1.0 and score.top3 == 1.0 and score.dims == 3
