"""What a dream step's point on the plots depends on, in words: the setting it used and what changed.

A run's settings may change while it goes (the pane swaps in whole new frozen settings, read from the next
step; the dream analysis's result lists the settings each step read in ``used``). :func:`step_setting`
reduces a step's :class:`~cnnviz.analyses.dream.Settings` to the :class:`StepSetting` the curves show; the
plots start a new segment where it changes, marked with :func:`change_label`, and name each run by the
settings it used (:func:`run_label`).
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields

from cnnviz.analyses.dream import Settings, parse_cycle

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


def _objective_title(settings: Settings, class_names: Sequence[str]) -> str:
    if settings.objective == "channel":
        return f"channel {settings.channel}"
    if settings.objective == "class":
        squared = "squared " if settings.squared else ""
        return f"{squared}logit of {class_title(settings.target, class_names)}"
    if settings.objective == "guided":
        return "guide (best match)" if settings.best_match else "guide"
    return ""


def _cycle_title(cycle: tuple[tuple[str, float], ...]) -> str:
    return "cycle " + ", ".join(f"{layer} {STEP_FORMAT.format(step)}" for layer, step in cycle)


def step_setting(settings: Settings, class_names: Sequence[str] = ()) -> StepSetting:
    """The :class:`StepSetting` of the steps that read ``settings``; ``class_names`` name the classes of the
    run's model."""
    cycle = parse_cycle(settings.cycle)
    layer, step = (_cycle_title(cycle), "") if cycle else (settings.layer, STEP_FORMAT.format(settings.step_size))
    return StepSetting(layer, step, _objective_title(settings, class_names),
                       class_title(settings.target, class_names), settings.objective)


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
