"""What ``cnnviz run`` needs to know of a pane's settings: their names, values, ranges and choices (for
``cnnviz run ANALYSIS --help``), the check of ``--set`` names before anything heavy starts, the
messages for values a pane refused, and the settings an analysis presets (the deconvnet pane's top 9).
"""

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QComboBox,
    QDoubleSpinBox,
    QSpinBox,
    QWidget,
)

from cnnviz.gui.app.batch_args import ANALYSES, ArgumentError
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.runtime.control_state import Control, Value
from cnnviz.gui.widgets.colormaps import ColormapPicker

TEXT_CHARS = 100
"""Longest value, list of choices or tooltip shown for a parameter in the help."""


def preset(pane: ToolPane, analysis: str) -> None:
    """Set the settings ``analysis`` presets in ``pane`` (:attr:`Analysis.preset`)."""
    problems = pane.controls.apply(ANALYSES[analysis].preset)
    if problems:
        raise ValueError(f"{analysis}: the pane refused its preset settings: {problems}")


def setting_names(pane: ToolPane) -> list[str]:
    """The names ``--set`` accepts for ``pane``: ``layer``, its registered controls and its extra settings."""
    return list(dict.fromkeys(["layer", *pane.controls.controls, *pane.extra_settings()]))


def check_setting_names(pane: ToolPane, settings: dict[str, str]) -> None:
    """Raise :class:`ArgumentError` for a name in ``settings`` that ``pane`` has no setting of."""
    known = setting_names(pane)
    unknown = [name for name in settings if name not in known]
    if unknown:
        raise ArgumentError(f"--set {unknown[0]}: no such parameter; parameters: {', '.join(known)}")


def problem_text(pane: ToolPane, problems: dict[str, str], settings: dict[str, Value]) -> str:
    """A one-line message for the first setting ``pane`` refused (``problems`` from ``apply_settings``)."""
    name, reason = next(iter(problems.items()))
    if name == "layer":
        names = [choice.name for choice in pane.picker.choices]
        shown = ", ".join(names[:40]) + (", …" if len(names) > 40 else "")
        return f"--layer {settings.get('layer')}: not a layer of this analysis; layers: {shown}"
    return f"--set {name}={settings.get(name)}: {reason}"


def describe(control: Control) -> str:
    """What ``control`` accepts: its choices, its range, or true/false ("" when it does not say)."""
    if isinstance(control, ColormapPicker):
        return "a colormap name"
    if isinstance(control, QComboBox):
        items = [control.itemData(i) if control.itemData(i) is not None else control.itemText(i)
                 for i in range(control.count())]
        return "one of: " + ", ".join(str(item) for item in items)
    if isinstance(control, QDoubleSpinBox):
        return f"{control.minimum():g}…{control.maximum():g}"
    if isinstance(control, (QSpinBox, QAbstractSlider)):
        return f"{control.minimum()}…{control.maximum()}"
    if isinstance(control, QAbstractButton):
        return "true or false"
    return ""


def _short(text: str, limit: int = TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _entry(name: str, value: Value, description: str) -> list[str]:
    line = f"  {name} = {_short(str(value))}"
    return [line, f"      {description}"] if description else [line]


def parameter_help(analysis: str, pane: ToolPane, model: str) -> str:
    """The text of ``cnnviz run ANALYSIS --help``: every parameter with its value for ``model`` (the
    default), what it accepts and its tooltip."""
    entry = ANALYSES[analysis]
    values = pane.settings()
    lines = [f"cnnviz run {analysis}: {entry.summary}", "",
             f"parameters (--set KEY=VALUE), with their defaults for the model {model!r}:"]
    lines += _entry("layer", values.get("layer", ""), "the layer (also --layer): one of the model's layers")
    for name, control in pane.controls.controls.items():
        tip = control.toolTip() if isinstance(control, QWidget) else ""
        lines += _entry(name, values.get(name), " · ".join(_short(t) for t in (describe(control), tip) if t))
    for name, value in pane.extra_settings().items():
        lines += _entry(name, value, "")
    lines += ["", "--target N picks the target class (default: the top-1 class of each image).",
              "Run `cnnviz run --help` for the other options."]
    return "\n".join(lines) + "\n"
