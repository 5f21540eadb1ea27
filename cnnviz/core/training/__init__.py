"""Training a loaded model on a labelled image folder: probing, fine-tuning or from scratch.

::

    from cnnviz.core import datasets, models, training
    ds = datasets.open_folder("photos/")
    train, val, test = training.split(ds, (0.7, 0.2, 0.1), seed=0)
    run = training.fit(model, train, config=training.TrainConfig(mode="finetune", epochs=10), val=val,
                       out="runs/photos")
    training.evaluate(run.model, test).top1

The user's model is never changed: a run trains a copy (:mod:`~cnnviz.core.training.prepare`). Every
epoch leaves a checkpoint that :func:`cnnviz.core.models.load` opens like any model.
"""

from cnnviz.core.training.augment import FORMS as AUGMENTATIONS
from cnnviz.core.training.config import MODES, TrainConfig
from cnnviz.core.training.layer_probes import ProbeScore, probe_layers
from cnnviz.core.training.loop import TrainingProgress, TrainingRun, fit, fit_steps
from cnnviz.core.training.metrics import EpochMetrics, Metrics, Predictions, evaluate, evaluate_steps, predict_steps
from cnnviz.core.training.runs import RunRecord, open_run, read_splits, run_labels
from cnnviz.core.training.splits import split

__all__ = [
    "AUGMENTATIONS", "MODES", "EpochMetrics", "Metrics", "Predictions", "ProbeScore", "RunRecord", "TrainConfig",
    "TrainingProgress", "TrainingRun", "evaluate", "evaluate_steps", "fit", "fit_steps", "open_run", "predict_steps",
    "probe_layers", "read_splits", "run_labels", "split",
]
