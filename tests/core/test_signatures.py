"""One shape for the public API: after the model and the data it works on, every argument of the core's entry
points and of the analyses' figures is keyword-only, so that a call reads as what it sets."""

import inspect

import pytest

from cnnviz.analyses import registry
from cnnviz.core.model import layers
from cnnviz.core.per_dataset import features, scan
from cnnviz.core.per_image import attribution, deconv, dream, invariance, occlusion
from cnnviz.core.per_image.attribution import metrics

ENTRY_POINTS = [features.of_image, features.extract, features.extract_steps, scan.build, scan.build_steps,
                metrics.randomisation, metrics.randomisation_steps, metrics.fill_image, occlusion.fill_image,
                occlusion.occlude, occlusion.occlusion_steps, occlusion.occlusion_job, invariance.curves,
                invariance.curve_steps, deconv.project_unit, deconv.top_units, dream.run, layers.capture,
                attribution.attribute]
"""Functions taking (model, data, *, …)."""


def positional_after(function, leading: int) -> list[str]:
    parameters = list(inspect.signature(function).parameters.values())[leading:]
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


@pytest.mark.parametrize("function", ENTRY_POINTS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_core_entry_points_take_keywords_after_the_data(function):
    assert positional_after(function, 2) == []


@pytest.mark.parametrize("name", registry.names())
def test_analyses_share_one_signature(name):
    analysis = registry.get(name)
    parameters = list(inspect.signature(analysis.run).parameters.values())
    assert [p.name for p in parameters[:3]] == ["model", "source", "settings"]
    # what an analysis takes beyond them (reused maps, a cache) is keyword-only, with a default
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in parameters[3:])
    figure = inspect.signature(analysis.figure).parameters
    assert list(figure)[:1] == ["result"] and positional_after(analysis.figure, 1) == []
    assert {"width_mm", "dpi", "width_px", "caption"} <= set(figure)
    assert figure["width_mm"].default == 170 and figure["dpi"].default == 300
