"""Every analysis by name: the GUI, ``cnnviz run``, sessions and the report read this list.

Each name maps to the module that defines it; the module's ``ANALYSIS``
(:class:`~cnnviz.analyses.base.Analysis`) is imported on first use, so listing names costs nothing.
"""

import importlib

from cnnviz.analyses.base import Analysis

MODULES: dict[str, str] = {
    "filters": "cnnviz.analyses.filters",
    "activations": "cnnviz.analyses.activations",
    "deconv": "cnnviz.analyses.deconv",
    "top9": "cnnviz.analyses.top9",
    "occlusion": "cnnviz.analyses.occlusion",
    "invariance": "cnnviz.analyses.invariance",
    "dream": "cnnviz.analyses.dream",
    "attribution": "cnnviz.analyses.attribution",
    "scan": "cnnviz.analyses.scan",
    "features": "cnnviz.analyses.feature_space",
    "curves": "cnnviz.analyses.curves",
    "confusion": "cnnviz.analyses.confusion",
    "evolution": "cnnviz.analyses.evolution",
    "probe": "cnnviz.analyses.probe",
}
"""Analysis name -> the module whose ``ANALYSIS`` it is, in the order menus and help list them."""


def names(input: str | None = None) -> list[str]:
    """The analyses' names, in order; ``input`` (``"image"``, ``"dataset"`` or ``"runs"``) keeps those that
    take it."""
    return [n for n in MODULES if input is None or get(n).input == input]


def get(name: str) -> Analysis:
    """The analysis called ``name``; KeyError naming the analyses for an unknown name."""
    if name not in MODULES:
        raise KeyError(f"no analysis {name!r}; analyses: {', '.join(MODULES)}")
    analysis = importlib.import_module(MODULES[name]).ANALYSIS
    assert isinstance(analysis, Analysis)
    return analysis
