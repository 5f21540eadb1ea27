"""The Deep dream pane's image view: a :class:`~cnnviz.analyses.dream.DreamAnalysis` on screen.

:class:`DreamView` shows a result's dreamed image (the current octave's, 8-bit) titled with the octave and
step reached and its size, with the last step's objective, target probability, layer, step size and mean
|update| on the detail line; before a run it shows the input with a hint to press Start.
"""

import numpy as np

from cnnviz.analyses.dream import DreamAnalysis
from cnnviz.gui.widgets.map_view import MapPanel

START_HINT = "press Start (Ctrl+Return) to dream"


def title(result: DreamAnalysis) -> str:
    """The view's title for ``result``: "Start image · W×H" before its first step, else e.g.
    "Octave 2/3 · step 25/60 · 224×224"."""
    height, width = result.image.shape[:2]
    if not result.records:
        return f"Start image · {width}×{height}"
    step = result.records[-1]
    return (f"Octave {step.octave + 1}/{len(result.sizes)} · step {step.index + 1}/{result.total} · "
            f"{width}×{height}")


def detail(result: DreamAnalysis) -> str:
    """The last step of ``result`` in numbers ("" before the first)."""
    if not result.records:
        return ""
    step = result.records[-1]
    probability = f" · P(target) {step.target_prob:.3f}" if step.target_prob is not None else ""
    return (f"objective {step.objective:.4g}{probability} · layer {step.layer} · step size {step.step_size:.2g} "
            f"· mean |update| {step.update_mean:.3g}")


class DreamView(MapPanel):
    """The dreamed image of the result shown (:meth:`show_result`), or the input before a run (:meth:`show_input`)."""

    def show_result(self, result: DreamAnalysis) -> None:
        """Show ``result``'s image, titled and detailed (:func:`title`, :func:`detail`)."""
        self.canvas.set_image(result.image, levels=(0, 255))
        self.set_title(title(result))
        self.detail.setText(detail(result))
        self.set_hint("")

    def show_input(self, pixels: np.ndarray) -> None:
        """Show the input ``pixels`` (8-bit) with a hint to press Start."""
        self.canvas.set_image(pixels, levels=(0, 255))
        self.set_title("Input")
        self.detail.setText("")
        self.set_hint(START_HINT)

    def clear(self) -> None:
        """Show nothing (a new model)."""
        self.canvas.clear_image()
        self.set_title("")
        self.detail.setText("")
        self.set_hint("")
