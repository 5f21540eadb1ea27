"""The analysis fields of the caption of the Occlusion figure
(:meth:`~cnnviz.gui.panes.tool_pane.ToolPane.caption_fields`): every setting that changes what it shows,
taken from the run shown where there is one, else from the controls; and the Occlusion pane's hover line,
which describes one occluder position of the result shown."""

from collections.abc import Callable
from typing import Any

from cnnviz.core.model.models import class_name
from cnnviz.core.per_image.occlusion import OcclusionResult


def occlusion_fields(request: Any, result: OcclusionResult | None,
                     class_text: Callable[[int | None], str]) -> dict[str, Any]:
    """Target class (name and index), occluder window, stride and fill (the seed of a noise fill), and
    the layer and channel of the feature map, of ``result`` run for ``request`` (an
    ``OcclusionRequest``; the current settings when nothing is shown)."""
    target = result.target if result is not None else request.target
    fields = {"target": class_text(target), "window_px": request.window, "stride_px": request.stride,
              "fill": request.fill}
    if request.fill == "noise":
        fields["seed"] = request.seed
    fields["feature_layer"] = request.layer or "none"
    if result is not None and result.channel is not None:
        fields["feature_channel"] = result.channel
    return fields


def occlusion_hover_text(result: OcclusionResult, i: int, j: int, top: int, left: int) -> str:
    """The values of ``result`` at occluder position (``i``, ``j``) (row, column of the maps), whose
    window's top-left corner is at (``top``, ``left``) input pixels."""
    where = f"Occluder at top {top}, left {left} px"
    if result.top_class[i, j] < 0:
        return f"{where}: not computed"
    name = class_name(result.classes, int(result.top_class[i, j]))
    feature = f" · Σ map {result.channel} = {result.feature[i, j]:.4g}" if result.feature is not None else ""
    return f"{where}: p(target) = {result.prob[i, j]:.4f}{feature} · top class: {name}"

