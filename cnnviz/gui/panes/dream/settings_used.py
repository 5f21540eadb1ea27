"""What a dream step's point on the plots depends on, in words: the setting it used and what changed.

A run's settings may change while it goes (the pane swaps in a whole new config, read from the next
step; each :class:`~cnnviz.core.per_image.dream.DreamStep` carries the snapshot it used). :func:`step_setting`
reduces a step's config to the :class:`StepSetting` the curves show; the plots start a new segment
where it changes, marked with :func:`change_label`, and name each run by the settings it used
(:func:`run_label`). :func:`analysis_values` gives a config as the dream analysis's settings.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from cnnviz.core.per_image.dream import DreamConfig, DreamStep

STEP_FORMAT = "{:.3g}"
"""How a step size is written (three significant digits: a change too small to see is no change)."""
SHOWN_CHANGES = 3
"""Changes a run's legend entry lists before it elides the middle ones."""


@dataclass(frozen=True)
class StepSetting:
    """The settings behind one step's points, as shown: ``layer`` (or the layer cycle), ``step`` size
    ("" for a cycle, whose rows carry their own), ``objective`` ("" for the L2 norm; else e.g.
    "channel 3" or "logit of malamute"), ``target``, the class whose probability is plotted, and
    ``kind``, the objective's key (:data:`cnnviz.core.per_image.dream.OBJECTIVES`; not shown in labels)."""

    layer: str
    step: str
    objective: str
    target: str
    kind: str = "l2"

    def same_objective(self, other: "StepSetting") -> bool:
        """True if both plot the same objective values (same layer and objective), so their points join."""
        return (self.layer, self.objective) == (other.layer, other.objective)


def class_title(target: int | None, class_names: Sequence[str]) -> str:
    """The name of class ``target`` among ``class_names`` ("class N" past them; None: the input's top-1)."""
    if target is None:
        return "top-1 class"
    return class_names[target] if 0 <= target < len(class_names) else f"class {target}"


def _objective_title(cfg: DreamConfig, class_names: Sequence[str]) -> str:
    if cfg.objective == "channel":
        return f"channel {cfg.channel if cfg.channel is not None else 0}"
    if cfg.objective == "class":
        squared = "squared " if cfg.square_class else ""
        return f"{squared}logit of {class_title(cfg.target, class_names)}"
    if cfg.objective == "guided":
        return "guide (best match)" if cfg.best_match else "guide"
    return ""


def _cycle_title(cycle: tuple[tuple[str, float], ...]) -> str:
    return "cycle " + ", ".join(f"{layer} {STEP_FORMAT.format(step)}" for layer, step in cycle)


def config_setting(cfg: DreamConfig, class_names: Sequence[str] = ()) -> StepSetting:
    """The :class:`StepSetting` of the steps a run of ``cfg`` makes; ``class_names`` name the classes of
    the run's model."""
    layer, step = (_cycle_title(cfg.cycle), "") if cfg.cycle else (cfg.layer, STEP_FORMAT.format(cfg.step_size))
    return StepSetting(layer, step, _objective_title(cfg, class_names), class_title(cfg.target, class_names),
                       cfg.objective)


def step_setting(step: DreamStep, class_names: Sequence[str] = ()) -> StepSetting:
    """The :class:`StepSetting` of ``step`` from the config it used (``step.config``; without one, only
    its layer and step size are known)."""
    if step.config is None:
        return StepSetting(step.layer, STEP_FORMAT.format(step.step_size), "", "")
    return config_setting(step.config, class_names)


def _parts(setting: StepSetting, names: Sequence[str], with_target: bool) -> list[str]:
    texts = {"layer": setting.layer, "step": f"step {setting.step}" if setting.step else "",
             "objective": setting.objective, "target": f"P({setting.target})" if with_target else ""}
    return [texts[name] for name in names if texts.get(name)]


def setting_label(setting: StepSetting, with_target: bool = False) -> str:
    """All of ``setting`` in one line, e.g. "features.relu2 · step 0.02 · channel 3" (the target class
    too with ``with_target``)."""
    return " · ".join(_parts(setting, [f.name for f in fields(StepSetting)], with_target))


def change_label(before: StepSetting, after: StepSetting) -> str:
    """What changed from ``before`` to ``after``, as ``after`` has it, e.g. "features.relu3 · step 0.05"."""
    changed = [f.name for f in fields(StepSetting) if getattr(before, f.name) != getattr(after, f.name)]
    return " · ".join(_parts(after, changed, with_target=True))


def run_label(settings: Sequence[StepSetting], with_target: bool = False) -> str:
    """A run's legend entry from the settings it used in turn: the first in full, then each change
    (the middle ones elided past :data:`SHOWN_CHANGES`), e.g. "relu2 · step 0.02 → relu3 · step 0.05"."""
    if not settings:
        return ""
    changes = [change_label(a, b) for a, b in itertools.pairwise(settings)]
    if len(changes) > SHOWN_CHANGES:
        changes = [changes[0], f"… {len(changes) - 2} more …", changes[-1]]
    return " → ".join([setting_label(settings[0], with_target), *changes])


STARTING = ("octaves", "octave_scale", "start", "seed")
"""Settings a run reads once, when it starts (a change while it runs applies to the next run)."""


def analysis_values(config: DreamConfig) -> dict[str, Any]:
    """``config`` as values of the dream analysis's settings (:class:`cnnviz.analyses.dream.Settings`), by
    name; the guide image's file and where the run works are not in a config."""
    return {"layer": config.layer, "objective": config.objective,
            "channel": config.channel if config.channel is not None else 0, "target": config.target,
            "squared": config.square_class, "best_match": config.best_match, "prob_every": config.prob_every,
            "step_size": config.step_size, "normalize": config.normalize, "iterations": config.iterations,
            "octaves": config.octaves, "octave_scale": config.octave_scale, "jitter": config.jitter,
            "blur_every": config.blur_every, "blur_sigma": config.blur_sigma, "decay": config.decay,
            "clamp": config.clamp, "start": config.start, "seed": config.seed, "tile": config.tile,
            "overlap": config.overlap, "cycle": [f"{layer}:{step}" for layer, step in config.cycle]}


RELEVANT = {"channel": ("channel",), "class": ("square_class",), "guided": ("best_match",)}
"""Fields of :class:`DreamConfig` that only matter for one objective."""


def config_fields(config: DreamConfig, class_names: Sequence[str], full_resolution: bool = False) -> dict:
    """``config`` for a figure caption: every setting that changes the dream, in the order of
    :class:`DreamConfig`, leaving out those the objective, cycle, start or tiling do not use; classes by
    name and index, the guide image as "yes"."""
    skipped = {name for objective, names in RELEVANT.items() if config.objective != objective for name in names}
    skipped |= {"layer", "step_size"} if config.cycle else {"cycle"}
    skipped |= {"blur_sigma"} if config.blur_every <= 0 else set()
    skipped |= {"seed"} if config.start == "image" else set()
    skipped |= set() if full_resolution else {"tile", "overlap"}
    values: dict = {}
    for item in fields(config):
        if item.name in skipped:
            continue
        value = getattr(config, item.name)
        if item.name == "guide":
            value = "yes" if value is not None else "no"
        elif item.name == "target":
            value = "top-1" if value is None else f"{class_title(value, class_names)} ({value})"
        elif item.name == "cycle":
            value = [f"{layer} @ {step:.3g}" for layer, step in value]
        values[item.name] = value
    return values | {"full_resolution": full_resolution}
