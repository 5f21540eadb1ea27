"""The Occlusion pane: occlusion sensitivity maps (Zeiler & Fergus 2014, Fig. 7).

A square occluder (window, stride, fill) slides over the input; for every position the pane maps
(b) the total activation of the strongest feature map of the chosen layer, beside (c) that map's
deconvnet projection for the unoccluded image, (d) the probability of the target class (the shared
target: the top-1 class unless one is picked in the Predictions pane) and (e) the most probable
class, each over the input with an opacity slider. Maps fill in as batches complete; a cancelled run
keeps its partial maps, marked "PARTIAL". Hovering a map shows the occluder there, the values and
the occluded image. A new target class runs again; a new image or model clears the result (or runs
again with "Auto"), as does any change of the settings with "Auto".

The settings are forms of the occlusion analysis's :class:`~cnnviz.analyses.occlusion.Settings`
(:mod:`~cnnviz.gui.panes.occlusion.controls`); a run is the analysis's :func:`~cnnviz.analyses.occlusion.run`
on the compute worker, with Run/Cancel, progress and PARTIAL from :class:`~cnnviz.gui.panes.run_pane.RunPane`;
its (partial) :class:`~cnnviz.analyses.occlusion.OcclusionAnalysis` is what :attr:`OcclusionPane.result`
holds, the :class:`~cnnviz.gui.panes.occlusion.view.OcclusionView` draws and the export's report figure shows.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QWidget

from cnnviz.analyses import layer_rules
from cnnviz.analyses import occlusion as analysis
from cnnviz.analyses.base import Source
from cnnviz.analyses.occlusion import OcclusionAnalysis, Settings
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import occlusion
from cnnviz.core.progress import Step
from cnnviz.gui.panes import captions
from cnnviz.gui.panes.occlusion.controls import display_form, occluder_form, set_quietly
from cnnviz.gui.panes.occlusion.hover import OccludedInput, occluder_at
from cnnviz.gui.panes.occlusion.view import INPUT_TITLE, OcclusionView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.panes.tool_pane import same_request
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.widgets.figure_render import mark_transient, while_exported
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.pointer import hover_left

IDLE_TEXT = "Press Run (Ctrl+R) to compute the maps"


@dataclass(frozen=True, eq=False)
class OcclusionRequest:
    """What one run computes: ``model`` and input ``x`` (compared by identity; None while there is none) and the
    analysis ``settings`` (layer, target, and window and stride resolved for the model)."""

    model: LoadedModel | None
    x: torch.Tensor | None
    settings: Settings


def resolved(settings: Settings, model: LoadedModel | None) -> Settings:
    """``settings`` with the window and stride left to the model filled in (as the analysis fills them)."""
    if model is None:
        return settings
    window = settings.window or occlusion.default_window(min(model.input_size))
    return replace(settings, window=window, stride=settings.stride or occlusion.default_stride(window))


def input_pixels(state: AppState) -> np.ndarray | None:
    """The current input as seen by the model ([H, W] or [H, W, 3] uint8), None without one."""
    seen = state.seen_image
    return image_array(seen) if seen is not None else None


class OcclusionPane(RunPane):
    """Occluder settings, Run/Cancel with progress, the Fig. 7 view and its exports. Attributes: ``form``
    (occluder settings), ``display`` (colormap, opacity), ``view`` and ``result`` (the analysis's result shown,
    None before a run)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "occlusion", layer_choices, parent, unit="positions")
        self.run_button.setToolTip("Compute the occlusion maps (Ctrl+R)")
        self.form, self.display = occluder_form(), display_form()
        self.auto_check = QCheckBox("Auto")
        self.auto_check.setToolTip("Run again when the image, model, layer or settings change "
                                   "(otherwise a new image clears the maps)")
        self.form.add_widgets(self.auto_check, row=0)
        self.data_button = QPushButton("Export data…")
        self.data_button.setToolTip("Save the raw maps as .npy files and a CSV of all positions")
        self.view = OcclusionView(self.partial_label)
        self.make_figure(self._export_name, self._export_data, self.view)
        while_exported(self.figure, lambda: hover_left(panel.canvas for panel in self.view.panels))  # un-hovered
        display_row = QHBoxLayout()
        display_row.addWidget(self.display)
        display_row.addStretch(1)
        display_row.addWidget(self.data_button)
        self.arrange(self.form, self.run_controls.row(), display_row)
        self.result: OcclusionAnalysis | None = None
        self.occluded = OccludedInput()
        self._connect()
        self.settings_binding.register(self.form, auto=self.auto_check)
        self.settings_binding.register(self.display)
        self.clear_views()

    def _connect(self) -> None:
        self.data_button.clicked.connect(self.export_data)
        self.form.changed.connect(self._settings_changed)
        self.display.changed.connect(lambda _name: self._draw())
        self.state.target_changed.connect(lambda _index: self.schedule())
        self.state.model_changed.connect(self._set_defaults)
        for panel in self.view.panels:
            panel.canvas.hovered.connect(self._hovered)
            mark_transient(panel.canvas.box_item)  # the occluder under the mouse
        self._settings_changed("fill")

    @property
    def fill(self) -> str:
        """The occluder fill: one of :data:`cnnviz.core.per_image.occlusion.FILLS`."""
        return str(self.form.value("fill"))

    def caption_fields(self) -> dict[str, object]:
        """Target, occluder window, stride and fill, and the feature map (:func:`captions.occlusion_fields`)."""
        request = self.run_request or self.request()
        maps = self.result.maps if self.result is not None else None
        return captions.occlusion_fields(request.settings, maps, self.figure_part.class_text)

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The last ReLU or convolution with feature maps (:func:`cnnviz.analyses.layer_rules.last_rectified`)."""
        model = self.state.model
        return layer_rules.last_rectified(model) if model is not None else choices[-1].name

    def analysis_result(self) -> OcclusionAnalysis | None:
        """The maps shown: the analysis's result, drawn with the colormap chosen now (its report figure is the
        export)."""
        if self.result is None:
            return None
        return replace(self.result, settings=self.result.settings.replace(**self.display.values()))

    def request(self) -> OcclusionRequest:
        """The :class:`OcclusionRequest` of a run now."""
        target = self.state.target if self.state.target >= 0 else None
        settings = self.form.settings(layer=self.layer, target=target)
        return OcclusionRequest(self.state.model, self.state.input_tensor, resolved(settings, self.state.model))

    def run(self) -> None:
        """Start computing the maps with the current settings (a running one is replaced)."""
        request = self.request()
        settings = request.settings
        if request.model is None or request.x is None or not self.layer:
            return
        self.clear_result()
        assert settings.window is not None and settings.stride is not None  # resolved for the model
        height, width = request.x.shape[-2:]
        tops, lefts = occlusion.grid((int(height), int(width)), settings.window, settings.stride)
        source = Source(self.state.image_name, request.x)
        self.start(analysis.run, request, request.model, source, settings, text="Occluding…",
                   planned=len(tops) * len(lefts))

    def clear_result(self) -> None:
        """Forget the shown result and empty the maps."""
        self.result = None
        self.occluded.clear()
        self.view.clear(input_pixels(self.state))
        self.update_partial()
        self.run_controls.reset_progress(IDLE_TEXT)
        self.export.set_enabled(False)
        self.data_button.setEnabled(False)

    def clear_views(self) -> None:
        """Show nothing (new model)."""
        self.cancel()
        self.run_request = None
        self.clear_result()
        self.view.input_panel.canvas.clear_image()

    def refresh(self) -> None:
        """Keep the figure in step with the state: a new image or model clears the maps (or runs
        again with Auto); a new target class runs again when maps are shown or being computed."""
        if self.state.input_tensor is None:
            return
        wanted, shown = self.request(), self.run_request
        if shown is None:
            self.view.show_input(input_pixels(self.state))
            if self.auto_check.isChecked():
                self.run()
            return
        if not same_request((shown.model, shown.x), (wanted.model, wanted.x)):
            if self.auto_check.isChecked():
                self.run()
            else:
                self.clear_views()
                self.jobs.show_info("The image or model changed: press Run (Ctrl+R) for new maps.")
            return
        if same_request(shown, wanted):
            return
        if self.auto_check.isChecked() or shown.settings.target != wanted.settings.target:
            self.run()

    def export_data(self) -> list[Path] | None:
        """Ask for a file name and save the raw maps (:func:`cnnviz.core.per_image.occlusion.save_data`); None
        if cancelled."""
        if self.result is None:
            return None
        maps = self.result.maps
        written = save_with_dialog(self, "Export occlusion data", f"cnnviz-{self._export_name()}",
                                   "NumPy arrays and CSV (*.npy *.csv)",
                                   lambda path: occlusion.save_data(maps, path), "Could not export the data")
        if written is None:
            return None
        self.state.show_status(f"Saved {len(written)} files beside {written[0]}")
        return written

    def on_partial(self, item: Step) -> None:
        """Show the maps so far (the analysis's partial result)."""
        self._show(item.partial)

    def on_done(self, result: OcclusionAnalysis) -> None:
        """Show the complete maps."""
        self._show(result)

    def partial_progress(self) -> tuple[int, int] | None:
        """(done, total) positions of the maps shown."""
        return (self.result.maps.done, self.result.maps.total) if self.result is not None else None

    def _settings_changed(self, name: str) -> None:
        seed = self.form.widget("seed")
        if name == "fill" and isinstance(seed, QWidget):
            seed.setEnabled(self.fill == "noise")
        if self.auto_check.isChecked():
            self.schedule()

    def _set_defaults(self, model: LoadedModel) -> None:
        size = min(model.input_size)
        for name in ("window", "stride"):
            self.form.set_range(name, 1, size)
        # the window and stride of analysis.defaults(model), which also traces the model: not on the GUI thread
        # while the compute worker may be tracing it
        window = occlusion.default_window(size)
        set_quietly(self.form, {"window": window, "stride": occlusion.default_stride(window)})

    def _show(self, result: OcclusionAnalysis) -> None:
        self.result = result
        self._draw()
        self.export.set_enabled(True)
        self.data_button.setEnabled(True)
        self.update_partial()

    def _draw(self) -> None:
        if self.result is not None:
            self.view.draw(self.result, self.display.value("colormap"), self.display.value("opacity") / 100)

    def _hovered(self, row: int, col: int) -> None:
        result, request = self.result, self.run_request
        if result is None or row < 0 or request is None:
            self.view.show_box(None)
            self.view.show_in_input(input_pixels(self.state), INPUT_TITLE)
            return
        maps = result.maps
        i, j, top, left, bottom, right = occluder_at(maps, row, col)
        self.view.show_box((top, left, bottom, right))
        pixels = self.occluded.pixels(request.model, request.x, maps, result.settings.seed, top, left)
        self.view.show_in_input(pixels, f"Occluded at ({top}, {left})")
        self.jobs.show_info(captions.occlusion_hover_text(maps, i, j, top, left))

    def _export_name(self) -> str:
        if self.result is None:
            return "occlusion"
        maps = self.result.maps
        return f"occlusion-w{maps.window}-s{maps.stride}-{maps.fill}-class{maps.target}"

    def _export_data(self) -> dict[str, np.ndarray]:
        return self.result.arrays() if self.result is not None else {}
