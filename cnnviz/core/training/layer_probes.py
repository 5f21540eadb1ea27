"""Layer-wise linear probes (Zeiler & Fergus 2014, Table 7 and Section 5): how well each layer's
features, pooled per channel and frozen, separate the classes, scored by a logistic regression
(scikit-learn) trained on one split and tested on another."""

from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.core.data.datasets import ImageDataset, batches
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.heads import head_name, is_head_kind
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.features import pooled
from cnnviz.core.progress import ProgressFn, Step, run_to_end
from cnnviz.core.training.splits import check_labelled

DEFAULT_LAYERS = 8
"""Most layers probed when none are named: conv and linear layers spread over the depth."""
MAX_ITER = 2000


@dataclass(frozen=True)
class ProbeScore:
    """A layer's probe: test ``top1``/``top3`` accuracy (0…1), ``train_top1``, and the feature size ``dims``."""

    top1: float
    top3: float
    train_top1: float
    dims: int


def default_layers(model: LoadedModel, count: int = DEFAULT_LAYERS) -> list[str]:
    """Up to ``count`` conv and linear layers before the head, evenly spread, the deepest always in."""
    modules = dict(model.module.named_modules())
    try:
        head = head_name(model)
    except ValueError:
        head = ""
    candidates = [name for name in model.layer_names() if name != head
                  and (isinstance(modules[name], torch.nn.Conv2d) or is_head_kind(modules[name]))]
    if len(candidates) <= count:
        return candidates
    picks = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [candidates[i] for i in sorted(set(picks))]


def layer_features_steps(model: LoadedModel, dataset: ImageDataset, layers: Sequence[str], *, pooling: str,
                         batch_size: int, workers: int | None) -> Generator[Step, None, dict[str, np.ndarray]]:
    """Pooled features [N, D] of every layer of ``layers`` for every readable image, in one pass per batch."""
    rows: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    done = 0
    for batch in batches(dataset, model.preprocessor(), range(len(dataset)), batch_size=batch_size, workers=workers):
        if len(batch.indices):
            outputs = forward_to(model, batch.x, layers=list(layers), stop_early=True,
                                 reduce=lambda _name, output: pooled(output, pooling).float())
            for name in layers:
                rows[name].append(outputs[name].cpu().numpy())
        done += len(batch.indices) + len(batch.failed)
        yield Step(done, len(dataset), message=f"features of {dataset.name}")
    return {name: np.concatenate(parts) for name, parts in rows.items()}


def _labels(dataset: ImageDataset, count: int) -> np.ndarray:
    assert dataset.labels is not None
    if count != len(dataset):
        raise ValueError(f"{len(dataset) - count} image(s) of {dataset.name} could not be read; "
                         "remove them before probing")
    return np.asarray(dataset.labels)


def score_layer(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                seed: int = 0) -> ProbeScore:
    """A standardised multinomial logistic regression fitted on ``train_x`` [N, D] and scored on ``test_x``."""
    from sklearn.linear_model import LogisticRegression  # imported here: a second and a half, wanted rarely
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    classifier = LogisticRegression(max_iter=MAX_ITER, random_state=seed)
    classifier.fit(scaler.transform(train_x), train_y)
    scores = classifier.decision_function(scaler.transform(test_x))
    if scores.ndim == 1:  # two classes: one score, for classes_[1]
        scores = np.column_stack([-scores, scores])
    top = np.argsort(-scores, axis=1)[:, :3]
    picked = classifier.classes_[top]
    train_top1 = float(classifier.score(scaler.transform(train_x), train_y))
    return ProbeScore(float(np.mean(picked[:, 0] == test_y)), float(np.mean((picked == test_y[:, None]).any(1))),
                      train_top1, int(train_x.shape[1]))


def probe_layers_steps(model: LoadedModel, train: ImageDataset, test: ImageDataset, *,
                       layers: Sequence[str] | None = None, pooling: str = "avg", batch_size: int = 64,
                       workers: int | None = None, seed: int = 0) -> Generator[Step, None, dict[str, ProbeScore]]:
    """:func:`probe_layers` as steps (images of both splits, then layers scored)."""
    check_labelled(train, "train")
    check_labelled(test, "test", list(train.classes))
    names = list(layers) if layers else default_layers(model)
    if not names:
        raise ValueError(f"{model.name}: no layer to probe; name them")
    train_features = yield from layer_features_steps(model, train, names, pooling=pooling, batch_size=batch_size,
                                                     workers=workers)
    test_features = yield from layer_features_steps(model, test, names, pooling=pooling, batch_size=batch_size,
                                                    workers=workers)
    train_y = _labels(train, len(next(iter(train_features.values()))))
    test_y = _labels(test, len(next(iter(test_features.values()))))
    scores: dict[str, ProbeScore] = {}
    for done, name in enumerate(names, 1):
        scores[name] = score_layer(train_features[name], train_y, test_features[name], test_y, seed)
        yield Step(done, len(names), message=f"probe of {name}")
    return scores


def probe_layers(model: LoadedModel, train: ImageDataset, test: ImageDataset, *, layers: Sequence[str] | None = None,
                 pooling: str = "avg", batch_size: int = 64, workers: int | None = None, seed: int = 0,
                 progress: ProgressFn | None = None) -> dict[str, ProbeScore]:
    """For each of ``layers`` (None: :func:`default_layers`), a linear probe on its frozen features
    (pooled per channel by ``pooling``, as :func:`~cnnviz.core.per_dataset.features.extract` does)
    fitted on ``train`` and scored on ``test``; by layer, in the order given. ``progress(done, total)``
    returning False cancels."""
    return run_to_end(probe_layers_steps(model, train, test, layers=layers, pooling=pooling, batch_size=batch_size,
                                         workers=workers, seed=seed), progress)
